// Minimal types for the parts of s3rver 3.x (a Koa app) that bin/sandbox/local-s3.ts uses.
declare module 's3rver' {
  import type { IncomingMessage, Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  namespace S3rver {
    interface BucketConfig {
      name: string;
      configs?: Array<string | Buffer>;
    }

    interface Options {
      address?: string;
      port?: number;
      silent?: boolean;
      directory?: string;
      configureBuckets?: BucketConfig[];
      resetOnClose?: boolean;
      allowMismatchedSignatures?: boolean;
      vhostBuckets?: boolean;
      serviceEndpoint?: string;
    }

    /** The slice of a Koa context the local middleware reads and writes. */
    interface Context {
      readonly method: string;
      readonly path: string;
      readonly query: Record<string, string | string[] | undefined>;
      readonly req: IncomingMessage;
      status: number;
      body: unknown;
      type: string;
      set(field: string, value: string): void;
    }

    type Middleware = (context: Context, next: () => Promise<void>) => Promise<void> | void;

    interface FilesystemStore {
      readonly rootDirectory: string;
      getBucket(bucket: string): Promise<object | null>;
      /** `<root>/<bucket>/._S3rver_<resource>` when key is undefined. */
      getResourcePath(bucket: string, key: string | undefined, resource: string): string;
      existsObject(bucket: string, key: string): Promise<boolean>;
      /** Removes `<resourceType>.xml` beside the object; a missing one is no error. */
      deleteSubresource(bucket: string, key: string, resourceType: string): Promise<void>;
      /** Writes the object's metadata.json (the allowed headers) and, when given, its object.md5 (the ETag without quotes). */
      putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
      /** UploadPart's work, called by s3rver's controller with the query's part number as text and the request as the body. */
      putPart(bucket: string, uploadId: string, partNumber: string, content: IncomingMessage): Promise<{ size: number; md5: string }>;
      /** CompleteMultipartUpload's work, called by s3rver's controller with the request's part list. */
      putObjectMultipart(bucket: string, uploadId: string, parts: readonly { number: number; etag: string }[]): Promise<{ size: number; md5: string }>;
    }
  }

  class S3rver {
    constructor(options?: S3rver.Options);
    /** Koa's middleware stack; composed when the server starts listening. */
    readonly middleware: S3rver.Middleware[];
    readonly store: S3rver.FilesystemStore;
    readonly httpServer?: Server;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }

  export = S3rver;
}

declare module 's3rver/lib/models/error' {
  /** An S3 error response: the code decides the status (400 for the client's errors), detail becomes elements of <Error>. */
  class S3Error extends Error {
    constructor(code: string, message: string, detail?: Record<string, string>);
    readonly code: string;
  }
  export = S3Error;
}

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

// The local S3-compatible archive store for the sandbox and the tests: s3rver, plus the
// two multipart operations it lacks. Without AbortMultipartUpload the copier's
// abort-on-failure would only ever be exercised against a 405, and without
// ListMultipartUploads a test could not check "no upload left open" through the same
// S3 API a real bucket offers. It also lacks DeleteObjectTagging, which unprotect sends
// when no tag is left.
import { mkdir, open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { urlAuthority } from './kit/listen';
import { completeFromParts } from './local-s3-completion';
import { Md5Worker } from './local-s3-md5';
import { isMissingFile, NO_SUCH_UPLOAD, readIfPresent, UploadParts } from './local-s3-parts';

export interface LocalS3Options {
  directory: string;
  host?: string;
  port?: number;
  buckets?: string[];
}

export interface LocalS3 {
  readonly endpoint: string;
  readonly region: 'us-east-1';
  readonly accessKeyId: 'S3RVER';
  readonly secretAccessKey: 'S3RVER';
  /**
   * Flips one byte of a stored object on disk, as bit rot or a faulty disk would: the
   * object keeps its size, its ETag and its place in listings, only its bytes change.
   * (The sandbox shows a corrupted copy this way; no S3 request can do it.)
   */
  rotObject(bucket: string, key: string): Promise<void>;
  stop(): Promise<void>;
}

const DEFAULT_MAX_UPLOADS = 1000;
// s3rver's upload ids are hex; anything else must not reach the file system as a path.
const SAFE_UPLOAD_ID = /^[A-Za-z0-9_-]+$/;

interface OpenUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch] ?? ch);
}

function s3ErrorXml(code: string, message: string, detail: Record<string, string> = {}): string {
  const detailXml = Object.entries(detail)
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message>${detailXml}</Error>`;
}

function singleQueryValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Path-style addressing only: /<bucket>[/<key>]. */
function splitPath(path: string): { bucket?: string; key?: string } {
  const [, bucketSegment, ...keySegments] = path.split('/');
  if (!bucketSegment) return {};
  const key = keySegments.join('/');
  return { bucket: decodeURIComponent(bucketSegment), key: key === '' ? undefined : decodeURIComponent(key) };
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    // Clients here always use path-style URLs; host-based bucket guessing only gets in the way.
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  function uploadsDirectory(bucket: string): string {
    return server.store.getResourcePath(bucket, undefined, 'uploads');
  }

  function uploadDirectory(bucket: string, uploadId: string): string {
    return join(uploadsDirectory(bucket), uploadId);
  }

  // Parts are stored where the object will need them (local-s3-parts.ts), and
  // CompleteMultipartUpload checks the part list and builds the object as S3 does
  // (local-s3-completion.ts). The middleware below has checked the upload exists.
  const md5 = new Md5Worker();
  const uploads = new UploadParts(md5);
  server.store.putPart = (bucket, uploadId, partNumber, content) => uploads.put(uploadDirectory(bucket, uploadId), partNumber, content);
  server.store.putObjectMultipart = (bucket, uploadId, parts) => completeFromParts(server.store, uploads, bucket, uploadDirectory(bucket, uploadId), parts);

  /** The upload's key, or undefined if no such upload is open. */
  async function openUploadKey(bucket: string, uploadId: string): Promise<string | undefined> {
    if (!SAFE_UPLOAD_ID.test(uploadId)) return undefined;
    return readIfPresent(join(uploadDirectory(bucket, uploadId), 'key'));
  }

  async function openUploads(bucket: string): Promise<OpenUpload[]> {
    let uploadIds: string[];
    try {
      uploadIds = await readdir(uploadsDirectory(bucket));
    } catch (error) {
      if (isMissingFile(error)) return [];
      throw error;
    }
    const uploads: OpenUpload[] = [];
    for (const uploadId of uploadIds) {
      const keyFile = join(uploadDirectory(bucket, uploadId), 'key');
      try {
        const [key, keyStat] = await Promise.all([readFile(keyFile, 'utf8'), stat(keyFile)]);
        uploads.push({ key, uploadId, initiated: keyStat.mtime });
      } catch (error) {
        // A part that was still in flight when its upload was aborted recreates the
        // directory without a key file; that is not an open upload.
        if (!isMissingFile(error)) throw error;
      }
    }
    return uploads.sort((a, b) => (a.key === b.key ? a.initiated.getTime() - b.initiated.getTime() : a.key < b.key ? -1 : 1));
  }

  function replyError(context: S3rver.Context, status: number, code: string, message: string, detail: Record<string, string> = {}): void {
    context.status = status;
    context.type = 'application/xml';
    context.body = s3ErrorXml(code, message, detail);
  }

  function replyNoSuchUpload(context: S3rver.Context, uploadId: string): void {
    replyError(
      context,
      404,
      'NoSuchUpload',
      NO_SUCH_UPLOAD,
      { UploadId: uploadId },
    );
  }

  async function listMultipartUploads(context: S3rver.Context, bucket: string): Promise<void> {
    const prefix = singleQueryValue(context.query['prefix']) ?? '';
    const keyMarker = singleQueryValue(context.query['key-marker']) ?? '';
    const uploadIdMarker = singleQueryValue(context.query['upload-id-marker']) ?? '';
    const maxUploadsParam = singleQueryValue(context.query['max-uploads']);
    const maxUploads = maxUploadsParam === undefined ? DEFAULT_MAX_UPLOADS : Number(maxUploadsParam);
    if (!Number.isInteger(maxUploads) || maxUploads < 0) {
      replyError(context, 400, 'InvalidArgument', 'max-uploads must be a non-negative integer', { ArgumentName: 'max-uploads' });
      return;
    }

    const all = await openUploads(bucket);
    const markerIndex = keyMarker ? all.findIndex((upload) => upload.key === keyMarker && upload.uploadId === uploadIdMarker) : -1;
    const isAfterMarker = (upload: OpenUpload, index: number): boolean => {
      if (!keyMarker) return true;
      if (uploadIdMarker && markerIndex >= 0) return index > markerIndex;
      return upload.key > keyMarker;
    };
    const afterMarker = all.filter(isAfterMarker);
    const matching = afterMarker.filter((upload) => upload.key.startsWith(prefix));
    const page = matching.slice(0, maxUploads);
    const truncated = matching.length > page.length;
    const last = page[page.length - 1];

    const uploadsXml = page
      .map(
        (upload) =>
          '<Upload>' +
          `<Key>${escapeXml(upload.key)}</Key>` +
          `<UploadId>${escapeXml(upload.uploadId)}</UploadId>` +
          '<Initiator><ID>123456789000</ID><DisplayName>S3rver</DisplayName></Initiator>' +
          '<Owner><ID>123456789000</ID><DisplayName>S3rver</DisplayName></Owner>' +
          '<StorageClass>STANDARD</StorageClass>' +
          `<Initiated>${upload.initiated.toISOString()}</Initiated>` +
          '</Upload>',
      )
      .join('');
    context.status = 200;
    context.type = 'application/xml';
    context.body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${escapeXml(bucket)}</Bucket>` +
      `<KeyMarker>${escapeXml(keyMarker)}</KeyMarker>` +
      `<UploadIdMarker>${escapeXml(uploadIdMarker)}</UploadIdMarker>` +
      (truncated && last
        ? `<NextKeyMarker>${escapeXml(last.key)}</NextKeyMarker><NextUploadIdMarker>${escapeXml(last.uploadId)}</NextUploadIdMarker>`
        : '') +
      (prefix ? `<Prefix>${escapeXml(prefix)}</Prefix>` : '') +
      `<MaxUploads>${maxUploads}</MaxUploads>` +
      `<IsTruncated>${truncated}</IsTruncated>` +
      uploadsXml +
      '</ListMultipartUploadsResult>';
  }

  async function abortMultipartUpload(context: S3rver.Context, bucket: string, key: string, uploadId: string): Promise<void> {
    if ((await openUploadKey(bucket, uploadId)) !== key) {
      replyNoSuchUpload(context, uploadId);
      return;
    }
    await rm(uploadDirectory(bucket, uploadId), { recursive: true, force: true });
    uploads.forget(uploadDirectory(bucket, uploadId));
    context.status = 204;
  }

  const multipartGaps: S3rver.Middleware = async (context, next) => {
    const { bucket, key } = splitPath(context.path);
    if (context.method === 'DELETE' && bucket && key !== undefined && 'tagging' in context.query) {
      if (!(await server.store.existsObject(bucket, key))) replyError(context, 404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
      else {
        await server.store.deleteSubresource(bucket, key, 'tagging');
        context.status = 204;
      }
      return;
    }
    const uploadId = singleQueryValue(context.query['uploadId']);
    const listsUploads = context.method === 'GET' && key === undefined && 'uploads' in context.query;
    const touchesUpload = key !== undefined && uploadId !== undefined && ['DELETE', 'PUT', 'POST'].includes(context.method);
    if (!bucket || (!listsUploads && !touchesUpload)) {
      await next();
      return;
    }
    if (!(await server.store.getBucket(bucket))) {
      replyError(context, 404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
      return;
    }
    if (listsUploads) {
      await listMultipartUploads(context, bucket);
      return;
    }
    if (key === undefined || uploadId === undefined) return; // narrowed above; kept for the type checker
    if (context.method === 'DELETE') {
      await abortMultipartUpload(context, bucket, key, uploadId);
      return;
    }
    // s3rver would accept a part for an aborted upload (recreating its directory) and
    // fail a completion with a 500; real S3 answers both with NoSuchUpload.
    if ((await openUploadKey(bucket, uploadId)) !== key) {
      if (!context.req.readableEnded) {
        // Read the part body so the client gets the error instead of a broken pipe.
        context.req.resume();
        await once(context.req, 'end');
      }
      replyNoSuchUpload(context, uploadId);
      return;
    }
    await next();
  };
  // Koa composes its stack when the server starts listening, so this runs first.
  server.middleware.unshift(multipartGaps);

  const address = await server.run();
  return {
    endpoint: `http://${urlAuthority(address)}`,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async rotObject(bucket, key) {
      const file = await open(server.store.getResourcePath(bucket, key, 'object'), 'r+');
      try {
        const { size } = await file.stat();
        if (size === 0) throw new Error(`rotObject: ${bucket}/${key} is empty, there is no byte to flip`);
        const byte = Buffer.alloc(1);
        const at = Math.floor(size / 2);
        await file.read(byte, 0, 1, at);
        byte[0] = (byte[0] ?? 0) ^ 0xff;
        await file.write(byte, 0, 1, at);
      } finally {
        await file.close();
      }
    },
    async stop() {
      const closing = server.close();
      // close() alone waits for keep-alive sockets the SDK holds open.
      server.httpServer?.closeAllConnections();
      await closing;
      await md5.stop();
    },
  };
}

/** An SDK client for a local store: path-style, its fixed keys, checksums only when required. */
export function localS3Client(store: { readonly endpoint: string; readonly region: string; readonly accessKeyId: string; readonly secretAccessKey: string }): S3Client {
  return new S3Client({
    endpoint: store.endpoint,
    region: store.region,
    forcePathStyle: true,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

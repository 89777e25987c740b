import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { VerifyingStream, type CopyProgress } from '../archive/copier';
import { CopyVerificationFailed, VendorApiError } from '../shared/errors';
import type { ApplianceBackup, ApplianceClient } from './client';
import { summarize, type ArchivedSource, type BackupSummary } from './lifecycle';

export interface UploadRequest {
  readonly client: ApplianceClient;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly archive: ArchivedSource;
  readonly signal: AbortSignal;
  readonly onProgress?: (progress: CopyProgress) => void;
}

export interface UploadResult extends BackupSummary {
  readonly uploadedBytes: number;
  readonly sha256: string;
}

/**
 * Streams an archived copy from S3 to the appliance's backups/upload, checking size and
 * SHA-256 against the manifest as the bytes pass. A mismatch fails the stream before its
 * end, so the appliance receives a short body and stores nothing; should it have stored
 * a backup anyway, that backup is deleted. Memory stays flat: S3's body is piped through.
 */
export async function uploadFromArchive(request: UploadRequest): Promise<UploadResult> {
  const started = Date.now();
  let verifier: VerifyingStream | undefined;
  const openBody = async (): Promise<Readable> => {
    const answer = await request.s3.send(new GetObjectCommand({ Bucket: request.bucket, Key: request.archive.objectKey }), { abortSignal: request.signal });
    if (answer.ContentLength !== request.archive.sizeBytes) {
      (answer.Body as Readable | undefined)?.destroy();
      throw new CopyVerificationFailed(
        `Archive object ${request.archive.objectKey} is ${answer.ContentLength ?? 'of unknown'} bytes; its manifest records ${request.archive.sizeBytes}. Not uploaded.`,
      );
    }
    const stream = new VerifyingStream(
      { sizeBytes: request.archive.sizeBytes, checksum: `sha256:${request.archive.sha256}` },
      { algorithm: 'sha256', hex: request.archive.sha256 },
      (bytes) => request.onProgress?.({ bytes, totalBytes: request.archive.sizeBytes, elapsedMs: Date.now() - started }),
      { holdLastChunk: true, subject: `archived copy ${request.archive.objectKey}`, authority: 'its manifest records' },
    );
    verifier = stream;
    const body = answer.Body as Readable;
    body.on('error', (error) => stream.destroy(error));
    return body.pipe(stream);
  };
  // The upload answer's id is optional in the document; what was there before tells the new one apart.
  const before = new Set((await request.client.listBackups()).map((backup) => backup.id));
  const answer = await request.client.uploadBackup(openBody, request.archive.sizeBytes, request.signal);
  const uploaded = answer.id !== undefined ? { ...answer, id: answer.id } : await findUploaded(request.client, before, request.archive.sizeBytes);
  const sent = verifier;
  const problem =
    sent === undefined || sent.bytes !== request.archive.sizeBytes || sent.sha256Hex !== request.archive.sha256
      ? `the bytes read from the archive did not match the manifest`
      : uploaded.size !== undefined && uploaded.size !== request.archive.sizeBytes
        ? `the appliance reports ${uploaded.size} bytes for uploaded backup ${uploaded.id}; ${request.archive.sizeBytes} were sent`
        : uploaded.status === 'failed'
          ? `the appliance reports the upload failed: ${uploaded.status_message || '(no status_message given)'}`
          : undefined;
  if (problem) {
    await request.client.deleteBackup(uploaded.id).catch(() => undefined);
    throw (uploaded.status === 'failed' ? new VendorApiError(`Upload of ${request.archive.objectKey}: ${problem}.`) : new CopyVerificationFailed(`Upload of ${request.archive.objectKey}: ${problem}; the uploaded backup was deleted.`));
  }
  return { ...summarize(uploaded), uploadedBytes: sent?.bytes ?? 0, sha256: sent?.sha256Hex ?? '' };
}

async function findUploaded(client: ApplianceClient, before: ReadonlySet<string>, sizeBytes: number): Promise<ApplianceBackup> {
  const fresh = (await client.listBackups()).filter((backup) => !before.has(backup.id) && (backup.size === undefined || backup.size === sizeBytes));
  const [only] = fresh;
  if (fresh.length !== 1 || !only) {
    throw new VendorApiError(`The appliance answered the upload without an id, and ${fresh.length} new backups of ${sizeBytes} bytes appeared; cannot tell which is the upload.`);
  }
  return only;
}

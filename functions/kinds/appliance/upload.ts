import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ArchiveListing } from '../../archive/listing';
import { VerifyingStream, type CopyProgress } from '../../archive/copier';
import type { ApplianceTarget } from './config';
import { CopyVerificationFailed, VendorApiError, errorMessage } from '../../shared/errors';
import { ApplianceBackupFailed, ApplianceStorageFull } from './errors';
import type { PollState } from '../../shared/poll';
import type { ApplianceBackup, ApplianceClient, CreatedBackup } from './client';
import { summarize, type BackupSummary } from './backup-summary';
import { checkBackup, storageFullMessage, type BackupInProgress } from './backups';
import { isMadeByOffsite } from './provenance';
import type { ArchivedSource } from './restore-plan';

export interface UploadRequest {
  readonly client: ApplianceClient;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly archive: ArchivedSource;
  readonly signal: AbortSignal;
  readonly onProgress?: (progress: CopyProgress) => void;
  /** Named, with its applianceKeep, when the appliance is too full for the upload. */
  readonly target?: ApplianceTarget;
  /** The target's archived copies, read only when the appliance is too full: they tell which backups it holds a restore uploaded. */
  readonly archiveListing?: () => Promise<ArchiveListing>;
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
 *
 * The answer may show the new backup still `uploading` (size 0) while the appliance
 * processes the file: its size is compared once it is completed, by checkUploadedBackup.
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
  // The upload answer's id is optional in the document, and an upload cut off leaves no
  // answer at all: what was there before tells what the upload added.
  const before = await request.client.listBackups();
  let answer: CreatedBackup;
  try {
    answer = await request.client.uploadBackup(openBody, request.archive.sizeBytes, request.signal);
  } catch (error) {
    throw await afterUnfinishedUpload(request, error, before);
  }
  const uploaded =
    answer.id !== undefined ? { ...answer, id: answer.id } : await findUploaded(request.client, new Set(before.map((backup) => backup.id)), request.archive.sizeBytes);
  const sent = verifier;
  // The document lists `uploading` among a backup's statuses: until completed, the size
  // an appliance reports (0 here) is not the file's, so only a completed one is compared.
  const problem =
    sent === undefined || sent.bytes !== request.archive.sizeBytes || sent.sha256Hex !== request.archive.sha256
      ? `the bytes read from the archive did not match the manifest`
      : uploaded.status === 'completed' && uploaded.size !== undefined && uploaded.size !== request.archive.sizeBytes
        ? `the appliance reports ${uploaded.size} bytes for uploaded backup ${uploaded.id}; ${request.archive.sizeBytes} were sent`
        : uploaded.status === 'failed'
          ? `the appliance reports the upload failed: ${uploaded.status_message || '(no status_message given)'}`
          : undefined;
  if (problem) {
    const failure = uploaded.status === 'failed' ? new VendorApiError(`Upload of ${request.archive.objectKey}: ${problem}`) : new CopyVerificationFailed(`Upload of ${request.archive.objectKey}: ${problem}`);
    throw await withBadUploadDeleted(request.client, uploaded.id, failure);
  }
  return { ...summarize(uploaded), uploadedBytes: sent?.bytes ?? 0, sha256: sent?.sha256Hex ?? '' };
}

/**
 * CheckUploadedBackup: the uploaded backup until it is completed with the size that was
 * sent. One that ends failed, or completed with another size, is deleted: it holds one of
 * the appliance's few backup slots, and pruning would never take it.
 */
export async function checkUploadedBackup(
  client: ApplianceClient,
  target: ApplianceTarget,
  backupId: string,
  previous: PollState,
  expectedSizeBytes: number,
  notes?: readonly string[],
): Promise<BackupInProgress> {
  try {
    return await checkBackup(client, target, backupId, previous, expectedSizeBytes, notes);
  } catch (error) {
    if (!(error instanceof ApplianceBackupFailed || error instanceof CopyVerificationFailed)) throw error;
    throw await withBadUploadDeleted(client, backupId, error);
  }
}

/**
 * Deletes an uploaded backup that went wrong (failed, or not the bytes sent) and says in
 * the error whether that worked: it holds one of the appliance's few slots, and pruning
 * would never take it.
 */
async function withBadUploadDeleted<Failure extends Error>(client: ApplianceClient, backupId: string, error: Failure): Promise<Failure> {
  const stated = error.message.replace(/\.$/, '');
  try {
    await client.deleteBackup(backupId);
    error.message = `${stated}; the uploaded backup was deleted.`;
  } catch (deleteError) {
    error.message = `${stated}; deleting the uploaded backup failed (${errorMessage(deleteError)}): delete backup ${backupId} on the appliance.`;
  }
  return error;
}

/**
 * An upload that did not complete (connection reset, timeout, the body failing its check,
 * a refusal) may have left a half-uploaded `failed` backup in one of the few slots. The
 * answer is lost, so what this upload left is a backup that was not listed before it,
 * that offsite's backups did not make, and that is failed: that one is deleted, and only
 * when it is the only such backup. Anything else new is left alone and named, because it
 * cannot be told from a backup someone else started meanwhile. The error says what was
 * done; a full disk is described as the create path describes it, with the fix.
 */
async function afterUnfinishedUpload(request: UploadRequest, error: unknown, before: readonly ApplianceBackup[]): Promise<unknown> {
  if (!(error instanceof Error)) return error;
  const known = new Set(before.map((backup) => backup.id));
  let held: ApplianceBackup[] | undefined;
  const notes: string[] = [];
  try {
    held = await request.client.listBackups();
  } catch (listError) {
    notes.push(`the appliance's backups could not be listed afterwards (${errorMessage(listError)}): look on it for a failed backup this upload may have left`);
  }
  const added = (held ?? []).filter((backup) => !known.has(backup.id) && !isMadeByOffsite(backup));
  const failed = added.filter((backup) => backup.status === 'failed');
  const [leftover] = failed;
  if (failed.length === 1 && leftover) {
    try {
      await request.client.deleteBackup(leftover.id);
      held = held?.filter((backup) => backup.id !== leftover.id);
      notes.push(`deleted backup ${leftover.id} (failed), which this upload left`);
    } catch (deleteError) {
      notes.push(`backup ${leftover.id} (failed), which this upload left, could not be deleted (${errorMessage(deleteError)}): delete it on the appliance`);
    }
  } else if (failed.length > 1) {
    notes.push(`left ${failed.map((backup) => `${backup.id} (failed)`).join(', ')}: more than one new failed backup, so which one this upload left is not known; delete it on the appliance`);
  }
  for (const backup of added.filter((candidate) => candidate.status !== 'failed')) {
    notes.push(
      backup.status === 'completed' && backup.size === request.archive.sizeBytes
        ? `left backup ${backup.id} (completed, ${backup.size} bytes): the appliance may have taken in the whole file; restoring this archived copy again restores it in place`
        : `left backup ${backup.id} (${backup.status ?? 'status unknown'}), new since the upload began: it cannot be told from a backup started by someone else`,
    );
  }
  const said = notes.length > 0 ? ` After the upload: ${notes.join('; ')}.` : '';
  if (error instanceof ApplianceStorageFull && request.target) {
    const archive = await request.archiveListing?.().catch(() => undefined);
    return new ApplianceStorageFull(
      storageFullMessage(request.target, `refused the upload of ${request.archive.objectKey}; its backup storage is full (${error.message})`, held ?? before, archive) + said,
    );
  }
  error.message += said;
  return error;
}

async function findUploaded(client: ApplianceClient, before: ReadonlySet<string>, sizeBytes: number): Promise<ApplianceBackup> {
  // An upload still being processed reports size 0: only a completed one's size counts.
  const fresh = (await client.listBackups()).filter(
    (backup) => !before.has(backup.id) && !isMadeByOffsite(backup) && (backup.status !== 'completed' || backup.size === undefined || backup.size === sizeBytes),
  );
  const [only] = fresh;
  if (fresh.length !== 1 || !only) {
    throw new VendorApiError(`The appliance answered the upload without an id, and ${fresh.length} new backups of ${sizeBytes} bytes appeared; cannot tell which is the upload.`);
  }
  return only;
}

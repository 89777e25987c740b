// Typed errors. The state machines Retry and Catch on `name`, which Lambda reports as
// the errorType (and aws-local-stepfunctions matches the same way), so every class
// sets `name` explicitly: bundlers rename classes, and constructor.name would drift.

/** Bad execution input or configuration: fix the input, do not retry. */
export class InvalidInput extends Error {
  override readonly name = 'InvalidInput';
}

/** A 429, a 5xx, a timeout or a dropped connection: worth retrying with backoff. */
export class TransientApiError extends Error {
  override readonly name = 'TransientApiError';
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    /** The HTTP status, when there was an answer at all (not for timeouts and dropped connections). */
    readonly status?: number,
    /** The network error behind it (kept for a closer look, such as a TLS certificate's names; never quoted whole). */
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** 429 on a request that creates something: the vendor did not act on it, so it is safe to repeat. */
export class RateLimited extends Error {
  override readonly name = 'RateLimited';
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** 401/403: the key is wrong, expired or lacks a permission. Retrying will not help. */
export class NotAuthorized extends Error {
  override readonly name = 'NotAuthorized';
}

/** Any other 4xx, or an answer that does not have the documented shape. */
export class VendorApiError extends Error {
  override readonly name = 'VendorApiError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export class BackupNotFound extends Error {
  override readonly name = 'BackupNotFound';
}

/** The bytes that arrived are not the bytes the vendor described (size or checksum). */
export class CopyVerificationFailed extends Error {
  override readonly name = 'CopyVerificationFailed';
}

/** No archived copy of the backup to restore matches its manifest in any place (missing, or other bytes): nothing was restored. */
export class ArchivedCopyUnusable extends Error {
  override readonly name = 'ArchivedCopyUnusable';
}

/** Someone stopped the copy (Ctrl-C in the CLI). Not retried. */
export class CopyCancelled extends Error {
  override readonly name = 'CopyCancelled';
}

/** A credential reference could not be resolved (unset environment variable, missing secret). */
export class CredentialsUnavailable extends Error {
  override readonly name = 'CredentialsUnavailable';
}

/** The vendor reported the restore `failed` or `completed_with_errors`. */
export class RestoreFailed extends Error {
  override readonly name = 'RestoreFailed';
}

/** The vendor reports a restore still running: starting another on top of it is refused. */
export class RestoreInProgress extends Error {
  override readonly name = 'RestoreInProgress';
}

/** The server's TLS certificate was not trusted: not transient, the configuration must change. */
export class CertificateRejected extends Error {
  override readonly name = 'CertificateRejected';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A download link that is not https, or whose host is link-local, loopback, private or the metadata service: never fetched, never retried. */
export class DownloadUrlRefused extends Error {
  override readonly name = 'DownloadUrlRefused';
}

/** The bytes read from the primary copy are not those its manifest records (size or SHA-256): nothing was written to the secondary. */
export class SecondaryCopyVerificationFailed extends Error {
  override readonly name = 'SecondaryCopyVerificationFailed';
}

/** The primary copy (its object or its manifest) to be copied to the secondary is not there. */
export class PrimaryCopyMissing extends Error {
  override readonly name = 'PrimaryCopyMissing';
}

/** No bytes arrived for the copier's idle timeout: retried once, not like other transient errors. */
export class DownloadStalled extends Error {
  override readonly name = 'DownloadStalled';
}

/** A listing's pages contradict each other (a repeated page, a page beyond total_pages, totals that change): it cannot be taken as complete. Not retried. */
export class InconsistentPagination extends Error {
  override readonly name = 'InconsistentPagination';
}

/** A creating call got no clear answer (5xx, timeout, dropped connection) and nothing it may have created is listed: it may or may not have been acted on. */
export class RequestOutcomeUnknown extends Error {
  override readonly name = 'RequestOutcomeUnknown';
}

/** A restore drill's destination is the production target itself (or no usable destination): nothing was called. */
export class DrillRefused extends Error {
  override readonly name = 'DrillRefused';
}

/** A target has no copy a restore drill could use (no verified archived copy, no catalogue record). */
export class NoCopyToDrill extends Error {
  override readonly name = 'NoCopyToDrill';
}

import type { Readable } from 'node:stream';
import { request as undiciRequest, type Dispatcher } from 'undici';
import { z } from 'zod';
import { CertificateRejected, CopyVerificationFailed, NotAuthorized, RateLimited, TransientApiError, VendorApiError } from '../../shared/errors';
import { ApplianceStorageFull } from './errors';
import {
  describeBody,
  describeUrl,
  headerValue,
  networkReason,
  parseBody,
  readErrorAnswer,
  requestJson,
  statusError,
  type HttpErrorContext,
  type Sleep,
} from '../../shared/http';
import type { ApplianceAuthenticator } from './auth';
import type { ApplianceTransport } from './transport';

export const BACKUP_API_PATH = '/api/npm.backup/1.0';
/** Riverbed's common device resource; outside the backup document, so its absence is normal. */
export const DEVICE_INFO_PATH = '/api/common/1.0/info';

// Every field is optional in the document; `id` is what we cannot work without.
export const applianceBackupSchema = z.looseObject({
  id: z.string().min(1),
  backup_time: z.number().optional(),
  description: z.string().optional(),
  hostname: z.string().optional(),
  model: z.string().optional(),
  serial: z.string().optional(),
  size: z.number().optional(),
  status: z.string().optional(),
  status_message: z.string().optional(),
  sw_version: z.string().optional(),
});
export type ApplianceBackup = z.infer<typeof applianceBackupSchema>;

const backupList = z.looseObject({ items: z.array(applianceBackupSchema).optional() });

/** What create and upload answer: "a backup data object", in which even `id` is optional. */
export const createdBackupSchema = applianceBackupSchema.extend({ id: z.string().min(1).optional() });
export type CreatedBackup = z.infer<typeof createdBackupSchema>;

export const restoreStatusSchema = z.looseObject({
  last_restore_time: z.number().optional(),
  status: z.string().optional(),
  status_message: z.string().optional(),
});
export type RestoreStatus = z.infer<typeof restoreStatusSchema>;

const deviceInfo = z.looseObject({ sw_version: z.string().optional(), device_name: z.string().optional(), model: z.string().optional(), serial: z.string().optional() });
export type DeviceInfo = z.infer<typeof deviceInfo>;

export interface ApplianceClientOptions {
  readonly baseUrl: string;
  readonly auth: ApplianceAuthenticator;
  readonly transport: ApplianceTransport;
  readonly timeoutMs: number;
  readonly sleep?: Sleep;
}

export interface DownloadedFile {
  readonly body: Readable;
  readonly contentType: string | undefined;
  readonly contentLength: number | undefined;
}

/** The appliance said 401 to a token; the caller gets a new one and repeats the call once. */
class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
}

/** Riverbed services answer errors as `{ error_id, error_text }`. */
export function describeApplianceError(body: unknown): string {
  if (body && typeof body === 'object') {
    const { error_id: id, error_text: text } = body as { error_id?: unknown; error_text?: unknown };
    return [id, text].filter((part): part is string => typeof part === 'string' && part !== '').join(': ');
  }
  return describeBody(body);
}

// The document does not say how a full disk refuses a new backup or an upload. 507 means
// exactly that; otherwise a 4xx whose text speaks of space or a limit is taken as it.
const STORAGE_WORDS = /(no|not enough|insufficient|out of) (disk |storage )?space|(disk|storage|backup storage) (is )?full|quota|too many backups|maximum number of backups|backup limit/i;

export function isStorageRefusal(status: number, body: unknown): boolean {
  return status === 507 || (status >= 400 && status < 500 && ![401, 403, 429].includes(status) && STORAGE_WORDS.test(describeApplianceError(body)));
}

/** 429 on a creating call: the appliance did not act, so the state machine may repeat it. */
function rateLimited(context: HttpErrorContext): RateLimited | undefined {
  return context.status === 429 ? new RateLimited(`${context.operation} was throttled: HTTP 429 — ${describeApplianceError(context.body)}`, context.retryAfterSeconds) : undefined;
}

function storageFull(operation: string, context: { status: number; body: unknown }): ApplianceStorageFull {
  return new ApplianceStorageFull(`${operation} was refused because the appliance's backup storage is full: HTTP ${context.status} — ${describeApplianceError(context.body)}`);
}

/**
 * Every operation of the appliance Backup and Restore API (`/api/npm.backup/1.0`), over
 * the target's TLS settings, with its authentication renewed once on a 401.
 */
export class ApplianceClient {
  constructor(private readonly options: ApplianceClientOptions) {}

  private url(path: string): URL {
    return new URL(`${BACKUP_API_PATH}${path}`, this.options.baseUrl);
  }

  private async call(
    method: 'GET' | 'POST' | 'DELETE',
    url: URL,
    operation: string,
    extra: { body?: unknown; idempotent: boolean; mapError?: (context: HttpErrorContext) => Error | undefined },
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await requestJson(
          { method, url, operation, headers: { authorization: await this.options.auth.authorization() }, body: extra.body, idempotent: extra.idempotent },
          {
            fetch: this.options.transport.fetch,
            timeoutMs: this.options.timeoutMs,
            ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
            mapError: (context) => {
              if (context.status === 401 && this.options.auth.renewable && attempt === 0) return new TokenRejected(operation);
              if (context.status === 401 || context.status === 403) {
                return new NotAuthorized(
                  `${operation}: the appliance answered HTTP ${context.status}${context.status === 403 ? ' (the user lacks the permission for this call)' : ' (credentials refused)'} — ${describeApplianceError(context.body)}`,
                );
              }
              return extra.mapError?.(context);
            },
          },
          describeApplianceError,
        );
      } catch (error) {
        if (error instanceof TokenRejected) {
          this.options.auth.rejected();
          continue;
        }
        throw this.scrubbed(certificateProblem(error, this.options.baseUrl) ?? error);
      }
    }
  }

  /**
   * Some appliances echo the request in an error body; what the client sent (password,
   * token) is taken out of any message before it can reach a log, an execution's Cause
   * or the terminal.
   */
  private scrubbed(error: unknown): unknown {
    if (!(error instanceof Error)) return error;
    for (const value of this.options.auth.sensitiveValues()) {
      if (value.length >= 4) error.message = error.message.split(value).join('[redacted]');
    }
    return error;
  }

  async listBackups(): Promise<ApplianceBackup[]> {
    const answer = await this.call('GET', this.url('/backups'), 'list appliance backups', { idempotent: true });
    return parseAnswer(backupList, answer, 'list appliance backups').items ?? [];
  }

  async getBackup(id: string): Promise<ApplianceBackup> {
    const answer = await this.call('GET', this.url(`/backups/items/${encodeURIComponent(id)}`), `read appliance backup ${id}`, { idempotent: true });
    return parseAnswer(applianceBackupSchema, answer, `read appliance backup ${id}`);
  }

  async createBackup(description: string): Promise<CreatedBackup> {
    const operation = 'create appliance backup';
    const answer = await this.call('POST', this.url('/backups'), operation, {
      body: { description },
      // A 5xx may or may not have started a backup: the state machine must not repeat it blindly.
      idempotent: false,
      mapError: (context) => rateLimited(context) ?? (isStorageRefusal(context.status, context.body) ? storageFull('The new backup', context) : undefined),
    });
    return parseAnswer(createdBackupSchema, answer ?? {}, operation);
  }

  async deleteBackup(id: string): Promise<void> {
    await this.call('DELETE', this.url(`/backups/items/${encodeURIComponent(id)}`), `delete appliance backup ${id}`, { idempotent: true });
  }

  /** Starts a restore; the appliance reboots as part of it. */
  async restoreBackup(id: string): Promise<RestoreStatus> {
    const operation = `start restore of appliance backup ${id}`;
    const answer = await this.call('POST', this.url(`/backups/items/${encodeURIComponent(id)}/restore`), operation, { idempotent: false, mapError: rateLimited });
    return answer === undefined ? {} : parseAnswer(restoreStatusSchema, answer, operation);
  }

  async restoreStatus(): Promise<RestoreStatus> {
    const answer = await this.call('GET', this.url('/restore_status'), 'read appliance restore_status', { idempotent: true });
    return parseAnswer(restoreStatusSchema, answer, 'read appliance restore_status');
  }

  /**
   * Wipes the appliance's configuration, logs and data. Implemented because the document
   * has it; no workflow or command calls it (see docs/kinds/appliance.md).
   */
  async resetFactory(): Promise<RestoreStatus> {
    const answer = await this.call('POST', this.url('/backups/reset_factory'), 'reset the appliance to factory settings', { idempotent: false });
    return answer === undefined ? {} : parseAnswer(restoreStatusSchema, answer, 'reset the appliance to factory settings');
  }

  /** The appliance's own description (software version); undefined when it has no such resource. */
  async deviceInfo(): Promise<DeviceInfo | undefined> {
    try {
      const answer = await this.call('GET', new URL(DEVICE_INFO_PATH, this.options.baseUrl), 'read appliance device info', { idempotent: true });
      const parsed = deviceInfo.safeParse(answer);
      return parsed.success ? parsed.data : undefined;
    } catch (error) {
      if (error instanceof VendorApiError && (error.status === 404 || error.status === 405)) return undefined;
      throw error;
    }
  }

  /** GET items/{id}/file as a stream; the bytes are passed on exactly as served (no decoding). */
  async downloadBackup(id: string, signal: AbortSignal): Promise<DownloadedFile> {
    try {
      return await this.openFile(id, signal);
    } catch (error) {
      throw this.scrubbed(error);
    }
  }

  private async openFile(id: string, signal: AbortSignal): Promise<DownloadedFile> {
    const url = this.url(`/backups/items/${encodeURIComponent(id)}/file`);
    const operation = `download appliance backup ${id}`;
    for (let attempt = 0; ; attempt += 1) {
      const response = await this.stream(url, operation, { method: 'GET', headers: { 'accept-encoding': 'identity' }, signal });
      if (response.statusCode === 401 && this.options.auth.renewable && attempt === 0) {
        await response.body.dump();
        this.options.auth.rejected();
        continue;
      }
      if (response.statusCode < 200 || response.statusCode >= 300) {
        const answer = await readErrorAnswer(response, 'GET', operation);
        throw statusError(answer, describeApplianceError(answer.body));
      }
      const length = Number(headerValue(response.headers['content-length']));
      return {
        body: response.body,
        contentType: headerValue(response.headers['content-type']),
        contentLength: Number.isFinite(length) ? length : undefined,
      };
    }
  }

  /**
   * POST backups/upload with the file streamed as application/octet-stream and its
   * length declared. A streamed body cannot be replayed, so the caller hands over a way
   * to open it: after a 401 the token is renewed and the body opened once more.
   */
  async uploadBackup(openBody: () => Promise<Readable>, sizeBytes: number, signal: AbortSignal): Promise<CreatedBackup> {
    try {
      return await this.sendFile(openBody, sizeBytes, signal);
    } catch (error) {
      throw this.scrubbed(error);
    }
  }

  private async sendFile(openBody: () => Promise<Readable>, sizeBytes: number, signal: AbortSignal): Promise<CreatedBackup> {
    const operation = 'upload backup to the appliance';
    for (let attempt = 0; ; attempt += 1) {
      const body = await openBody();
      const response = await this.stream(this.url('/backups/upload'), operation, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(sizeBytes) },
        body,
        signal,
      }).catch((error: unknown) => {
        body.destroy();
        throw error;
      });
      if (response.statusCode === 401 && this.options.auth.renewable && attempt === 0) {
        body.destroy();
        await response.body.dump();
        this.options.auth.rejected();
        continue;
      }
      if (response.statusCode < 200 || response.statusCode >= 300) {
        body.destroy();
        const answer = await readErrorAnswer(response, 'POST', operation);
        if (isStorageRefusal(answer.status, answer.body)) throw storageFull('The upload', answer);
        throw statusError(answer, describeApplianceError(answer.body));
      }
      return parseAnswer(createdBackupSchema, parseBody(await response.body.text()) ?? {}, operation);
    }
  }

  private async stream(
    url: URL,
    operation: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Readable; signal: AbortSignal },
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await undiciRequest(url, {
        method: init.method,
        headers: { ...init.headers, authorization: await this.options.auth.authorization() },
        ...(init.body ? { body: init.body } : {}),
        signal: init.signal,
        dispatcher: this.options.transport.dispatcher,
        // An upload's answer comes only after the appliance has taken in the whole file;
        // allow nearly all of the 15-minute Lambda for it.
        headersTimeout: init.body ? 14 * 60_000 : Math.max(this.options.timeoutMs, 60_000),
      });
    } catch (error) {
      if (init.signal.aborted) throw init.signal.reason instanceof Error ? init.signal.reason : error;
      // The body failed its own check on the way (upload from the archive): that, not a network error.
      if (init.body?.errored instanceof CopyVerificationFailed) throw init.body.errored;
      const rejected = certificateProblem(error, this.options.baseUrl);
      if (rejected) throw rejected;
      throw new TransientApiError(`${operation} failed: ${networkReason(error)} (${describeUrl(url)})`);
    }
  }
}

// Node's TLS error codes for an untrusted or mismatched certificate.
const CERTIFICATE_CODES = /\b(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE)\b/;

/** The TLS error in an error's cause chain (undici's fetch wraps it), with what Node tells of the certificate. */
function tlsError(error: unknown): { code: string; host?: string; altNames?: string } | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth += 1) {
    const { code, host, cert, cause } = current as { code?: unknown; host?: unknown; cert?: { subjectaltname?: unknown }; cause?: unknown };
    if (typeof code === 'string' && CERTIFICATE_CODES.test(code)) {
      return {
        code,
        ...(typeof host === 'string' ? { host } : {}),
        ...(typeof cert?.subjectaltname === 'string' ? { altNames: cert.subjectaltname } : {}),
      };
    }
    current = cause;
  }
  const code = CERTIFICATE_CODES.exec(error instanceof Error ? error.message : '')?.[1];
  return code ? { code } : undefined;
}

/**
 * A certificate problem will not fix itself: say what to configure instead of retrying
 * it as a network error. A certificate issued for other names than the host asked for
 * is not a trust problem, and tls.ca would not help: name both sides instead.
 */
function certificateProblem(error: unknown, baseUrl: string): CertificateRejected | undefined {
  const problem = tlsError(error);
  if (!problem) return undefined;
  const origin = new URL(baseUrl).origin;
  if (problem.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const asked = problem.host ?? new URL(baseUrl).hostname;
    return new CertificateRejected(
      `The appliance at ${origin} presented a certificate for other names than the host asked for (${problem.code}): asked for "${asked}", ` +
        `the certificate names ${problem.altNames ? problem.altNames : 'no subject alternative names'}. ` +
        'Use one of those names in baseUrl, or have the appliance issue a certificate that names this host.',
    );
  }
  return new CertificateRejected(
    `The appliance at ${origin} presented a certificate that is not trusted (${problem.code}). ` +
      'Give the CA that signed it in tls.ca ({"pem": ...} or {"secret": ...}); appliances usually have self-signed certificates.',
  );
}

function parseAnswer<Schema extends z.ZodType>(schema: Schema, answer: unknown, operation: string): z.infer<Schema> {
  const parsed = schema.safeParse(answer);
  if (parsed.success) return parsed.data;
  const problem = parsed.error.issues[0];
  throw new VendorApiError(`${operation}: the appliance's answer does not have the documented shape (${problem ? `${problem.path.join('.') || 'body'}: ${problem.message}` : 'unreadable'}).`);
}

import { z } from 'zod';
import { InconsistentPagination, NotAuthorized, RateLimited, RestoreInProgress, TransientApiError, VendorApiError } from '../../shared/errors';
import { ServerNotFound } from './errors';
import { describeBody, requestJson, shortBodyText, type FetchFn, type FetchResponse, type HttpErrorContext, type Sleep } from '../../shared/http';

// The VPS provider's backups API (../shared/api-docs/vps-backups-api.txt) and the two
// servers-API calls a restore needs (assumed as docs/design.md ("Facts about the vendors") says; the status
// words are in server-status.ts). Fields the document shows but we do not rely on stay
// optional, so an answer without them is still usable.

export const providerBackupSchema = z.looseObject({
  id: z.number().int(),
  // The document nests the server; a flat server_id is accepted too.
  server: z.looseObject({ id: z.number().int(), name: z.string().nullable().optional() }).optional(),
  server_id: z.number().int().optional(),
  backup_type: z.string(),
  status: z.string(),
  size_mb: z.number().nullable().optional(),
  created_at: z.string(),
  expires_at: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
  message: z.string().nullable().optional(),
});

export type ProviderBackup = z.infer<typeof providerBackupSchema>;

const pageSchema = z.looseObject({
  count: z.number().optional(),
  next: z.string().nullable().optional(),
  results: z.array(providerBackupSchema),
});

const serverSchema = z.looseObject({ id: z.number().optional(), status: z.string() });

export interface ProviderServer {
  readonly id: number | undefined;
  readonly status: string;
  /** What the provider says beside the status (message, status_message, error), when anything. */
  readonly message: string | null;
}

/** The server a backup belongs to, whichever way the provider names it. */
export function serverIdOf(backup: ProviderBackup): number | undefined {
  return backup.server?.id ?? backup.server_id;
}

export interface VpsClientOptions {
  readonly baseUrl: string;
  readonly token: string;
  readonly timeoutMs?: number;
  /** Safety bound on pages walked by one listing. */
  readonly maxPages?: number;
  readonly fetch?: FetchFn;
  readonly sleep?: Sleep;
}

/** Pages one listing follows at most: far more than a server's backups, few enough to walk inside a function's timeout. */
export const MAX_PAGES = 200;

/** The error bodies a Django-style API sends: `{detail}`, `{message}`, `{error}` or field lists `{field: [messages]}`. */
export function describeVpsError(body: unknown): string {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    for (const field of ['detail', 'message', 'error', 'error_message']) {
      const value = record[field];
      if (typeof value === 'string' && value.trim() !== '') return shortBodyText(value);
    }
    const fields = Object.entries(record)
      .map(([name, value]) => {
        const messages = Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : typeof value === 'string' ? [value] : [];
        return messages.length > 0 ? `${name}: ${messages.join(' ')}` : undefined;
      })
      .filter((part): part is string => part !== undefined);
    if (fields.length > 0) return shortBodyText(fields.join('; '));
  }
  return describeBody(body);
}

/**
 * Seconds from a RateLimit-Reset header. The IETF draft makes it seconds from now; some
 * providers send a Unix time instead. A value too large to be a delay is read as a time.
 */
export function rateLimitResetSeconds(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value || !/^\s*\d+\s*$/.test(value)) return undefined;
  const number = Number(value);
  return number > 1_000_000_000 ? Math.max(0, Math.ceil(number - nowMs / 1000)) : number;
}

/**
 * A fetch whose answers show a RateLimit-Reset as Retry-After when there is no Retry-After,
 * so the shared HTTP code (which reads Retry-After) honours either.
 */
function withRateLimitReset(fetchFn: FetchFn): FetchFn {
  return async (url, init) => {
    const response = await fetchFn(url, init);
    if (response.ok || response.headers.get('retry-after') !== null) return response;
    const reset = rateLimitResetSeconds(response.headers.get('ratelimit-reset'));
    if (reset === undefined) return response;
    const wrapped: FetchResponse = {
      ok: response.ok,
      status: response.status,
      text: () => response.text(),
      headers: { get: (name) => (name.toLowerCase() === 'retry-after' ? String(reset) : response.headers.get(name)) },
    };
    return wrapped;
  };
}

type Call = 'read' | 'create-backup' | 'delete' | 'restore';

/** The provider's backups API and the servers-API calls a restore needs, one method per operation. */
export class VpsClient {
  private readonly root: URL;
  private readonly timeoutMs: number;
  private readonly maxPages: number;
  private readonly fetchFn: FetchFn;

  constructor(private readonly options: VpsClientOptions) {
    const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.root = new URL('api/v1/', base);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxPages = options.maxPages ?? MAX_PAGES;
    this.fetchFn = withRateLimitReset(options.fetch ?? ((url, init) => fetch(url, init)));
  }

  /**
   * Every backup the filters select, following `next` across pages. A `next` that leaves
   * the provider's origin is never followed (it would carry the token elsewhere); one that
   * repeats a page, or pages beyond MAX_PAGES, make the listing incomplete: it fails.
   */
  async listBackups(filter: { serverId?: number; backupType?: 'manual' | 'automatic' } = {}): Promise<ProviderBackup[]> {
    let url: URL | undefined = new URL('backups/', this.root);
    if (filter.serverId !== undefined) url.searchParams.set('server_id', String(filter.serverId));
    if (filter.backupType !== undefined) url.searchParams.set('backup_type', filter.backupType);
    const items: ProviderBackup[] = [];
    const visited = new Set<string>();
    for (let page = 1; url !== undefined; page += 1) {
      if (page > this.maxPages) throw new InconsistentPagination(`VPS provider: list backups: still a next page after ${this.maxPages} pages; the listing cannot be taken as complete.`);
      visited.add(url.href);
      const answer = await this.request('GET', url, `list backups (page ${page})`, 'read');
      const parsed = pageSchema.safeParse(answer);
      if (!parsed.success) {
        throw new VendorApiError(`VPS provider: list backups: page ${page} is not the documented {count, results} shape: ${parsed.error.issues[0]?.message ?? ''}`);
      }
      items.push(...parsed.data.results);
      const next = parsed.data.next;
      if (!next) break;
      let nextUrl: URL;
      try {
        nextUrl = new URL(next, url);
      } catch {
        throw new VendorApiError(`VPS provider: list backups: page ${page} names a next page that is not a URL.`);
      }
      if (nextUrl.origin !== this.root.origin) {
        throw new InconsistentPagination(`VPS provider: list backups: page ${page} points its next page at ${nextUrl.origin}, not the provider (${this.root.origin}); not followed.`);
      }
      if (visited.has(nextUrl.href)) throw new InconsistentPagination(`VPS provider: list backups: page ${page} points back at a page already read; the listing cannot be taken as complete.`);
      url = nextUrl;
    }
    const ids = new Set(items.map((item) => item.id));
    if (ids.size !== items.length) throw new InconsistentPagination('VPS provider: list backups: the pages list some backups twice; the listing cannot be taken as complete.');
    return items;
  }

  /** POST backups/: a manual backup of the server. Answers the new backup, or undefined when a 2xx answer does not have its shape. */
  async createBackup(serverId: number, description: string): Promise<ProviderBackup | undefined> {
    const answer = await this.request('POST', new URL('backups/', this.root), `create a backup of server ${serverId}`, 'create-backup', { server_id: serverId, description }, serverId);
    const parsed = providerBackupSchema.safeParse(answer);
    return parsed.success ? parsed.data : undefined;
  }

  /** DELETE backups/{id}/; 'absent' when the provider no longer has it (404). */
  async deleteBackup(backupId: number): Promise<'deleted' | 'absent'> {
    try {
      await this.request('DELETE', new URL(`backups/${backupId}/`, this.root), `delete backup ${backupId}`, 'delete');
      return 'deleted';
    } catch (error) {
      if (error instanceof VendorApiError && error.status === 404) return 'absent';
      throw error;
    }
  }

  /** POST servers/{id}/restore/. A 409 (a restore already running) is RestoreInProgress. */
  async restore(serverId: number, backupId: number): Promise<void> {
    await this.request('POST', new URL(`servers/${serverId}/restore/`, this.root), `restore server ${serverId} from backup ${backupId}`, 'restore', { backup_id: backupId }, serverId);
  }

  /** GET servers/{id}/ (assumed, see server-status.ts). */
  async getServer(serverId: number): Promise<ProviderServer> {
    const answer = await this.request('GET', new URL(`servers/${serverId}/`, this.root), `read server ${serverId}`, 'read');
    const candidates = [answer, (answer as { server?: unknown } | undefined)?.server, (answer as { data?: unknown } | undefined)?.data];
    for (const candidate of candidates) {
      const parsed = serverSchema.safeParse(candidate);
      if (parsed.success) {
        const words = ['message', 'status_message', 'error', 'detail'].map((field) => parsed.data[field]).find((value): value is string => typeof value === 'string' && value !== '');
        return { id: parsed.data.id, status: parsed.data.status, message: words ?? null };
      }
    }
    throw new VendorApiError(`VPS provider: read server ${serverId}: the answer has no "status" (the servers API is assumed to answer the server with a status).`);
  }

  private mapError(call: Call, serverId: number | undefined) {
    return (context: HttpErrorContext): Error => {
      const detail = describeVpsError(context.body);
      const suffix = detail ? ` — ${detail}` : '';
      const what = `VPS provider: ${context.operation} failed: HTTP ${context.status}`;
      if (context.status === 401) return new NotAuthorized(`${what}: the API token (credentials) was rejected — wrong, expired or missing${suffix}`);
      if (context.status === 403) return new NotAuthorized(`${what}: the API token (credentials) may not do this${suffix}`);
      if (context.status === 404 && (call === 'create-backup' || call === 'restore')) {
        return new ServerNotFound(`${what}: server ${serverId ?? '?'} does not exist (check the target's serverId)${suffix}`);
      }
      if (context.status === 409 && call === 'restore') return new RestoreInProgress(`${what}: the server is already restoring${suffix}`);
      if (context.status === 429 && call !== 'read') {
        // The provider did not act on a rate-limited call, so repeating it is safe.
        return new RateLimited(`${what}: rate limited${suffix}`, context.retryAfterSeconds);
      }
      if (context.status === 429 || context.status >= 500) return new TransientApiError(`${what}${suffix}`, context.retryAfterSeconds, context.status);
      return new VendorApiError(`${what}${suffix}`, context.status);
    };
  }

  private request(method: 'GET' | 'POST' | 'DELETE', url: URL, operation: string, call: Call, body?: unknown, serverId?: number): Promise<unknown> {
    return requestJson(
      { method, url, operation, headers: { authorization: `Bearer ${this.options.token}` }, ...(body === undefined ? {} : { body }), idempotent: call === 'read' || call === 'delete' },
      { fetch: this.fetchFn, sleep: this.options.sleep, timeoutMs: this.timeoutMs, mapError: this.mapError(call, serverId) },
      describeVpsError,
    );
  }
}

import { z } from 'zod';
import { InconsistentPagination, NotAuthorized, RateLimited, TransientApiError, VendorApiError } from '../../shared/errors';
import { TargetVersionUnavailable } from './errors';
import { describeBody, requestJson, shortBodyText, type FetchFn, type HttpErrorContext, type Sleep } from '../../shared/http';

/** Whole reads of a listing whose pages contradicted each other, before that is reported (InconsistentPagination). */
const LISTING_ATTEMPTS = 3;

/** A listing whose pages contradicted each other on one read (inside the client only: read again, then InconsistentPagination). */
class ShiftingListing extends Error {
  override readonly name = 'ShiftingListing';
}

// Field shapes from the NetBox Cloud Backups API document. Timestamps are nullable
// while a request, retrieval or restore is still running; fields the document shows
// but we do not rely on stay optional so an answer without them is still usable.
const timestamp = z.string().nullable().optional();

export const backupSchema = z.looseObject({
  id: z.string(),
  obj_id: z.string(),
  obj_type: z.string().optional(),
  obj_version: z.string().nullable().optional(),
  trigger_id: z.string().nullable().optional(),
  trigger_type: z.string().nullable().optional(),
  checksum: z.string().nullable().optional(),
  size_bytes: z.number().nullable().optional(),
  duration: z.number().nullable().optional(),
  created: z.string(),
});

export const backupRequestSchema = z.looseObject({
  id: z.string(),
  obj_id: z.string().optional(),
  obj_type: z.string().optional(),
  created: timestamp,
  started: timestamp,
  completed: timestamp,
  // Not in the document: a failed request may be reported this way. Read defensively.
  failed: timestamp,
  status: z.string().nullable().optional(),
});

export const retrievalSchema = z.looseObject({
  id: z.string(),
  backup_id: z.string(),
  backup_version: z.string().nullable().optional(),
  presigned_url: z.string().nullable().optional(),
  created: timestamp,
  created_by: z.string().nullable().optional(),
  started: timestamp,
  completed: timestamp,
  expires: timestamp,
  failed: timestamp,
});

export const restoreJobSchema = z.looseObject({
  id: z.string(),
  retrieval_id: z.string().optional(),
  target_nb_id: z.string().optional(),
  target_version_available: z.boolean().nullable().optional(),
  created: timestamp,
  created_by: z.string().nullable().optional(),
  started: timestamp,
  completed: timestamp,
  failed: timestamp,
  nb_redeployed: timestamp,
});

const createdSchema = z.looseObject({ id: z.string().min(1) });

const paginationSchema = z.looseObject({
  current_page: z.number().optional(),
  page_size: z.number().optional(),
  total_items: z.number().optional(),
  total_pages: z.number().optional(),
  first_page: z.boolean().optional(),
  last_page: z.boolean().optional(),
});

export type Backup = z.infer<typeof backupSchema>;
export type BackupRequest = z.infer<typeof backupRequestSchema>;
export type Retrieval = z.infer<typeof retrievalSchema>;
export type RestoreJob = z.infer<typeof restoreJobSchema>;

type Area = 'Request Backups' | 'Retrieve Backups' | 'Restore Backups';

/** What a caller looks for in a listing: with it found, a listing whose pages contradict each other is still usable. */
export interface ListOptions<T> {
  readonly seek?: (item: T) => boolean;
}

export interface NetboxCloudClientOptions {
  readonly baseUrl: string;
  readonly orgId: string;
  readonly apiKey: string;
  readonly timeoutMs?: number;
  readonly pageSize?: number;
  /** Safety bound on pages walked by one listing. */
  readonly maxPages?: number;
  readonly fetch?: FetchFn;
  readonly sleep?: Sleep;
  /** Where a listing that was used despite contradicting pages is reported. */
  readonly warn?: (message: string) => void;
}

/**
 * Pages one listing follows at most: 20,000 items at the default page size, far more than
 * an organisation's backups, retrievals or restore jobs, and few enough to walk well
 * inside the function's timeout. A server that keeps claiming more is not followed further.
 */
export const MAX_PAGES = 200;

/** The error body NetBox Cloud sends: `{error_code, error_message, error_details, error_reference_id}`. */
export function describeNetboxCloudError(body: unknown): string {
  if (body && typeof body === 'object') {
    const { error_code: code, error_message: message, error_reference_id: reference } = body as Record<string, unknown>;
    const parts = [
      typeof message === 'string' ? message : undefined,
      typeof code === 'string' || typeof code === 'number' ? `error_code ${code}` : undefined,
      typeof reference === 'string' ? `reference ${reference}` : undefined,
    ].filter((part): part is string => part !== undefined);
    if (parts.length > 0) return parts.map(shortBodyText).join('; ');
  }
  return describeBody(body);
}

type Pagination = z.infer<typeof paginationSchema>;

/** What a page's pagination says about pages to come, for messages. */
function claims(pagination: Pagination | undefined): string {
  const said = [
    pagination?.total_pages !== undefined ? `total_pages ${pagination.total_pages}` : undefined,
    pagination?.last_page !== undefined ? `last_page ${pagination.last_page}` : undefined,
  ].filter((part): part is string => part !== undefined);
  return said.length > 0 ? ` (it claims ${said.join(', ')})` : '';
}

function idOf(item: unknown): string | undefined {
  const id = (item as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** NetBox Cloud Backups API v2, one method per documented operation. */
export class NetboxCloudClient {
  private readonly root: URL;
  private readonly timeoutMs: number;
  private readonly pageSize: number;
  private readonly maxPages: number;

  constructor(private readonly options: NetboxCloudClientOptions) {
    const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.root = new URL(`v2/organization/${encodeURIComponent(options.orgId)}/`, base);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.pageSize = options.pageSize ?? 100;
    this.maxPages = options.maxPages ?? MAX_PAGES;
  }

  /** Every backup, walking all pages. Dates are UTC days (YYYY-MM-DD). */
  listBackups(filter: { initialDate?: string; endDate?: string } & ListOptions<Backup> = {}): Promise<Backup[]> {
    const query = {
      ...(filter.initialDate ? { initial_date: filter.initialDate } : {}),
      ...(filter.endDate ? { end_date: filter.endDate } : {}),
    };
    return this.listAll('backups/', backupSchema, 'Request Backups', 'list backups', query, filter.seek);
  }

  listBackupRequests(options: ListOptions<BackupRequest> = {}): Promise<BackupRequest[]> {
    return this.listAll('backup-requests/', backupRequestSchema, 'Request Backups', 'list backup requests', {}, options.seek);
  }

  // The creating calls answer the new id, or undefined when a 2xx answer names none: the
  // vendor acted, and what it created has to be looked up.

  requestBackup(instanceId: string): Promise<string | undefined> {
    return this.post('backup-requests/', { obj_id: instanceId, obj_type: 'netbox' }, 'Request Backups', `request a backup of ${instanceId}`);
  }

  listRetrievals(options: ListOptions<Retrieval> = {}): Promise<Retrieval[]> {
    return this.listAll('backup-retrieved/', retrievalSchema, 'Retrieve Backups', 'list retrievals', {}, options.seek);
  }

  requestRetrieval(backupId: string): Promise<string | undefined> {
    return this.post('backup-retrieved/', { backup_id: backupId }, 'Retrieve Backups', `request a retrieval of backup ${backupId}`);
  }

  listRestoreJobs(filter: { targetInstanceId?: string } & ListOptions<RestoreJob> = {}): Promise<RestoreJob[]> {
    const query: Record<string, string> = filter.targetInstanceId ? { target_nb_id: filter.targetInstanceId } : {};
    return this.listAll('backup-restore/', restoreJobSchema, 'Restore Backups', 'list restore jobs', query, filter.seek);
  }

  requestRestore(retrievalId: string, targetInstanceId: string): Promise<string | undefined> {
    return this.post('backup-restore/', { retrieval_id: retrievalId, target_nb_id: targetInstanceId }, 'Restore Backups', `restore retrieval ${retrievalId} onto ${targetInstanceId}`);
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.options.apiKey}` };
  }

  private mapError(area: Area, permission: 'Read' | 'Write') {
    return (context: HttpErrorContext): Error | undefined => {
      const detail = describeNetboxCloudError(context.body);
      const suffix = detail ? ` — ${detail}` : '';
      const what = `NetBox Cloud: ${context.operation} failed: HTTP ${context.status}`;
      if (context.status === 401) {
        return new NotAuthorized(`${what}: the API key was rejected (wrong or expired)${suffix}`);
      }
      if (context.status === 403) {
        return new NotAuthorized(`${what}: the API key lacks the "${area}" ${permission} permission${suffix}`);
      }
      if (context.status === 422 && area === 'Restore Backups' && permission === 'Write') {
        return new TargetVersionUnavailable(
          `NetBox Cloud refused the restore (HTTP 422): the target instance cannot run the NetBox version of this backup (target version not available)${suffix}`,
        );
      }
      if (context.status === 429 && permission === 'Write') {
        // The vendor did not act on a rate-limited call, so repeating it is safe.
        return new RateLimited(`${what}: rate limited${suffix}`, context.retryAfterSeconds);
      }
      if (context.status === 429 || context.status >= 500) {
        return new TransientApiError(`${what}${suffix}`, context.retryAfterSeconds, context.status);
      }
      return new VendorApiError(`${what}${suffix}`, context.status);
    };
  }

  private async post(path: string, body: unknown, area: Area, operation: string): Promise<string | undefined> {
    const answer = await requestJson(
      { method: 'POST', url: new URL(path, this.root), operation, headers: this.headers(), body, idempotent: false },
      { fetch: this.options.fetch, sleep: this.options.sleep, timeoutMs: this.timeoutMs, mapError: this.mapError(area, 'Write') },
      describeNetboxCloudError,
    );
    const parsed = createdSchema.safeParse(answer);
    return parsed.success ? parsed.data.id : undefined;
  }

  /**
   * A listing read while other backups of the organisation come and go can shift between
   * its pages (totals change, an item moves to the next page): that says nothing about the
   * listing read again a moment later, so it is read whole up to LISTING_ATTEMPTS times
   * before its inconsistency is reported.
   */
  private async listAll<T>(
    path: string,
    itemSchema: z.ZodType<T>,
    area: Area,
    operation: string,
    query: Record<string, string>,
    seek: ((item: T) => boolean) | undefined,
  ): Promise<T[]> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.listOnce(path, itemSchema, area, operation, query, seek);
      } catch (error) {
        if (!(error instanceof ShiftingListing)) throw error;
        if (attempt >= LISTING_ATTEMPTS) throw new InconsistentPagination(`${error.message} (read ${LISTING_ATTEMPTS} times)`);
        this.options.warn?.(`${error.message} Reading the listing again (attempt ${attempt + 1} of ${LISTING_ATTEMPTS}).`);
      }
    }
  }

  private async listOnce<T>(
    path: string,
    itemSchema: z.ZodType<T>,
    area: Area,
    operation: string,
    query: Record<string, string>,
    seek: ((item: T) => boolean) | undefined,
  ): Promise<T[]> {
    const pageSchema = z.looseObject({
      data: z.array(itemSchema),
      metadata: z.looseObject({ pagination: paginationSchema.optional() }).optional(),
    });
    const items: T[] = [];
    const seen = new Set<string>();
    let first: Pagination | undefined;
    let previous: Pagination | undefined;
    // A listing whose pages contradict each other may be missing items, so nothing that
    // needs the whole list may be decided from it. A caller that already has what it
    // looked for loses nothing by it: that is used, with a warning.
    // `shifting`: pages that contradict each other may come from backups made meanwhile
    // (read again); a listing that never ends does not get better by reading it again.
    const inconsistent = (what: string, shifting = true): T[] => {
      const message = `NetBox Cloud: ${operation}: ${what}: inconsistent pagination`;
      if (seek && items.some(seek)) {
        this.options.warn?.(`${message}; the item sought is already listed, so the ${items.length} items listed so far are used`);
        return items;
      }
      const text = `${message}; the listing cannot be taken as complete.`;
      throw shifting ? new ShiftingListing(text) : new InconsistentPagination(text);
    };
    for (let page = 1; ; page += 1) {
      if (page > this.maxPages) {
        return inconsistent(`it still claims more pages after ${this.maxPages} pages${claims(previous)}; no more than ${this.maxPages} pages of one listing are followed`, false);
      }
      const url = new URL(path, this.root);
      for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
      url.searchParams.set('page', String(page));
      url.searchParams.set('page_size', String(this.pageSize));
      const answer = await requestJson(
        { method: 'GET', url, operation: `${operation} (page ${page})`, headers: this.headers(), idempotent: true },
        { fetch: this.options.fetch, sleep: this.options.sleep, timeoutMs: this.timeoutMs, mapError: this.mapError(area, 'Read') },
        describeNetboxCloudError,
      );
      const parsed = pageSchema.safeParse(answer);
      if (!parsed.success) {
        throw new VendorApiError(`NetBox Cloud: ${operation}: page ${page} is not the documented {data, metadata.pagination} shape: ${parsed.error.issues[0]?.message ?? ''}`);
      }
      const data = parsed.data.data;
      const pagination = parsed.data.metadata?.pagination;
      const ids = data.map(idOf).filter((id): id is string => id !== undefined);
      const repeats = ids.length - new Set(ids.filter((id) => !seen.has(id))).size;
      if (repeats > 0) {
        // A server that does not page at all (restore jobs document no paging parameters)
        // and never claimed more pages answers page 1 again: that was the whole list.
        if (page > 1 && pagination === undefined && previous === undefined && repeats === data.length) return items;
        return inconsistent(page === 1 ? `page 1 lists ${repeats} of its items twice` : `page ${page} repeats ${repeats} of its ${data.length} items from earlier pages${claims(pagination)}`);
      }
      if (pagination?.current_page !== undefined && pagination.current_page !== page) {
        return inconsistent(`asked for page ${page}, the answer is current_page ${pagination.current_page}`);
      }
      for (const field of ['total_items', 'total_pages'] as const) {
        const before = first?.[field];
        const now = pagination?.[field];
        if (before !== undefined && now !== undefined && before !== now) return inconsistent(`${field} was ${before} on page 1 and is ${now} on page ${page}`);
      }
      const totalPages = pagination?.total_pages;
      const lastPage = pagination?.last_page;
      if (lastPage === false && totalPages !== undefined && page >= totalPages) return inconsistent(`page ${page} says last_page false, but total_pages is ${totalPages}`);
      if (lastPage === true && totalPages !== undefined && page < totalPages) return inconsistent(`page ${page} says last_page true, but total_pages is ${totalPages}`);
      if (data.length === 0 && (lastPage === false || (totalPages !== undefined && page < totalPages))) return inconsistent(`page ${page} is empty, yet claims more pages${claims(pagination)}`);
      items.push(...data);
      for (const id of ids) seen.add(id);
      if (page === 1) first = pagination;
      previous = pagination;
      // Stop on the first signal that this was the last page; an empty page also ends
      // the walk so a server that never says last_page cannot loop us.
      const ended = lastPage === true || (totalPages !== undefined && page >= totalPages) || data.length === 0 || (pagination === undefined && data.length < this.pageSize);
      if (ended) {
        const totalItems = pagination?.total_items;
        if (totalItems !== undefined && items.length !== totalItems) {
          return inconsistent(`the last page (${page}) brings the listing to ${items.length} items, but total_items is ${totalItems}`);
        }
        return items;
      }
    }
  }
}

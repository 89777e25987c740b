import { z } from 'zod';
import { NotAuthorized, RateLimited, TargetVersionUnavailable, TransientApiError, VendorApiError } from '../shared/errors';
import { requestJson, type FetchFn, type HttpErrorContext, type Sleep } from '../shared/http';

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
}

/** The error body NetBox Cloud sends: `{error_code, error_message, error_details, error_reference_id}`. */
export function describeNetboxCloudError(body: unknown): string {
  if (body && typeof body === 'object') {
    const { error_code: code, error_message: message, error_reference_id: reference } = body as Record<string, unknown>;
    const parts = [
      typeof message === 'string' ? message : undefined,
      typeof code === 'string' || typeof code === 'number' ? `error_code ${code}` : undefined,
      typeof reference === 'string' ? `reference ${reference}` : undefined,
    ].filter((part): part is string => part !== undefined);
    if (parts.length > 0) return parts.join('; ');
  }
  return typeof body === 'string' ? body : '';
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
    this.maxPages = options.maxPages ?? 1000;
  }

  /** Every backup, walking all pages. Dates are UTC days (YYYY-MM-DD). */
  listBackups(filter: { initialDate?: string; endDate?: string } = {}): Promise<Backup[]> {
    return this.listAll('backups/', backupSchema, 'Request Backups', 'list backups', {
      ...(filter.initialDate ? { initial_date: filter.initialDate } : {}),
      ...(filter.endDate ? { end_date: filter.endDate } : {}),
    });
  }

  listBackupRequests(): Promise<BackupRequest[]> {
    return this.listAll('backup-requests/', backupRequestSchema, 'Request Backups', 'list backup requests');
  }

  async requestBackup(instanceId: string): Promise<string> {
    const created = await this.post('backup-requests/', { obj_id: instanceId, obj_type: 'netbox' }, 'Request Backups', `request a backup of ${instanceId}`);
    return created.id;
  }

  listRetrievals(): Promise<Retrieval[]> {
    return this.listAll('backup-retrieved/', retrievalSchema, 'Retrieve Backups', 'list retrievals');
  }

  async requestRetrieval(backupId: string): Promise<string> {
    const created = await this.post('backup-retrieved/', { backup_id: backupId }, 'Retrieve Backups', `request a retrieval of backup ${backupId}`);
    return created.id;
  }

  listRestoreJobs(filter: { targetInstanceId?: string } = {}): Promise<RestoreJob[]> {
    return this.listAll('backup-restore/', restoreJobSchema, 'Restore Backups', 'list restore jobs', {
      ...(filter.targetInstanceId ? { target_nb_id: filter.targetInstanceId } : {}),
    });
  }

  async requestRestore(retrievalId: string, targetInstanceId: string): Promise<string> {
    const created = await this.post(
      'backup-restore/',
      { retrieval_id: retrievalId, target_nb_id: targetInstanceId },
      'Restore Backups',
      `restore retrieval ${retrievalId} onto ${targetInstanceId}`,
    );
    return created.id;
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
        return new TransientApiError(`${what}${suffix}`, context.retryAfterSeconds);
      }
      return new VendorApiError(`${what}${suffix}`, context.status);
    };
  }

  private async post(path: string, body: unknown, area: Area, operation: string): Promise<{ id: string }> {
    const answer = await requestJson(
      { method: 'POST', url: new URL(path, this.root), operation, headers: this.headers(), body, idempotent: false },
      { fetch: this.options.fetch, sleep: this.options.sleep, timeoutMs: this.timeoutMs, mapError: this.mapError(area, 'Write') },
      describeNetboxCloudError,
    );
    const parsed = createdSchema.safeParse(answer);
    if (!parsed.success) throw new VendorApiError(`NetBox Cloud: ${operation}: the answer has no "id": ${JSON.stringify(answer)?.slice(0, 200)}`);
    return parsed.data;
  }

  private async listAll<T>(path: string, itemSchema: z.ZodType<T>, area: Area, operation: string, query: Record<string, string> = {}): Promise<T[]> {
    const pageSchema = z.looseObject({
      data: z.array(itemSchema),
      metadata: z.looseObject({ pagination: paginationSchema.optional() }).optional(),
    });
    const items: T[] = [];
    let previousFirstId: string | undefined;
    for (let page = 1; page <= this.maxPages; page += 1) {
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
      const pagination = parsed.data.metadata?.pagination;
      // A server that ignores `page` (restore jobs document no paging parameters) answers
      // page 1 again: stop there instead of walking the same items up to maxPages.
      const firstId = idOf(parsed.data.data[0]);
      const repeated = page > 1 && ((pagination?.current_page !== undefined && pagination.current_page !== page) || (firstId !== undefined && firstId === previousFirstId));
      if (repeated) return items;
      previousFirstId = firstId;
      items.push(...parsed.data.data);
      // Stop on the first signal that this was the last page; an empty page also ends
      // the walk so a server that never says last_page cannot loop us.
      const lastPage =
        pagination?.last_page === true ||
        (pagination?.total_pages !== undefined && page >= pagination.total_pages) ||
        parsed.data.data.length === 0 ||
        (pagination === undefined && parsed.data.data.length < this.pageSize);
      if (lastPage) return items;
    }
    throw new VendorApiError(`NetBox Cloud: ${operation}: more than ${this.maxPages} pages; refusing to walk further`);
  }
}

// One client for every call to a self-hosted NetBox REST API (the audit of the
// netbox-proxbox kind, and the restore drills that check a NetBox). It follows
// ../shared/api-docs/netbox-rest-api-overview.txt: token auth, limit/offset pagination
// by `next`, trailing slashes, `brief`, `exclude=config_context`, X-Request-ID.
import { InconsistentPagination, NotAuthorized, TransientApiError, VendorApiError } from '../shared/errors';
import { describeUrl, networkCause, networkReason, parseBody, parseRetryAfter, sleep as realSleep, statusError, type FetchFn, type FetchResponse, type Sleep } from '../shared/http';

/** MAX_PAGE_SIZE defaults to 1000 in NetBox; a server configured lower cuts the page and says so in `next`. */
export const DEFAULT_PAGE_SIZE = 1000;
/** 1000 pages of 1000 is a million objects: beyond that a listing is taken to be looping. */
export const DEFAULT_MAX_PAGES = 1000;
/**
 * Whole reads of a list whose pages did not add up (a VM added or deleted while the list
 * was paged shifts limit/offset pages), before InconsistentPagination is reported: such a
 * list is usually whole when read again a moment later (as the NetBox Cloud listing does).
 */
export const LIST_ATTEMPTS = 3;

export interface NetboxRestOptions {
  /** The NetBox itself, e.g. https://netbox.dc1.example (or …/netbox when it is served under a path); `/api/` is added. */
  readonly baseUrl: string;
  readonly token: string;
  /** Where the token comes from, in words, for messages (never the token): e.g. `the NetBox token of target "netbox-dc1" (credentials.env NETBOX_TOKEN)`. */
  readonly tokenLabel: string;
  readonly timeoutMs: number;
  readonly fetch?: FetchFn;
  readonly pageSize?: number;
  readonly maxPages?: number;
  readonly sleep?: Sleep;
  /** A Retry-After up to this long is waited out here (at most twice); longer ones go to the state machine. */
  readonly maxInlineRetryAfterSeconds?: number;
  /** Told about every failing answer, with its X-Request-ID. */
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

export interface ListOptions {
  /** What the call is for, in words ("list virtual machines"). */
  readonly operation: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Ask for the brief representation (`brief=1`): enough where only ids and names are needed. */
  readonly brief?: boolean;
}

/**
 * `Authorization` for a NetBox token: v2 tokens (`nbt_<key>.<secret>`, NetBox 4.5+) go as
 * Bearer, everything else as the v1 `Token <40 letters and digits>`.
 */
export function authorizationHeader(token: string): string {
  return token.startsWith('nbt_') ? `Bearer ${token}` : `Token ${token}`;
}

/** The API root for a NetBox base URL: `https://host[/path]/api/`. */
export function apiRoot(baseUrl: string): URL {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/`;
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * The permission a 403 on a list path most likely lacks, in Django's `<app>.view_<model>`
 * form. The document names no permissions: this is derived from the path (plugins use
 * their package name, e.g. netbox_proxbox), so messages say "likely".
 */
export function likelyViewPermission(path: string): string {
  const segments = path.split('/').filter((segment) => segment !== '' && !/^\d+$/.test(segment));
  const app = segments[0] === 'plugins' ? `netbox_${segments[1] ?? 'plugin'}` : (segments[0] ?? 'netbox');
  const model = (segments.at(-1) ?? '').replace(/-/g, '').replace(/s$/, '');
  return `${app}.view_${model}`;
}

function detailOf(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object') {
    const detail = (body as { detail?: unknown }).detail;
    if (typeof detail === 'string') return detail;
    // Validation errors come back as { field: [messages] }.
    return JSON.stringify(body).slice(0, 300);
  }
  return '';
}

interface Answer {
  readonly body: unknown;
  readonly requestId: string | undefined;
}

/** One page of a list, with what a whole read is checked against. */
interface PageAnswer {
  readonly results: readonly unknown[];
  /** The `count` this page reported (the list's size when this page was cut). */
  readonly count: number | undefined;
  readonly requestId: string | undefined;
}

function quoteId(requestId: string | undefined): string {
  return `X-Request-ID ${requestId ?? 'not sent'}`;
}

/** A list read whole, or what was wrong with the read (the pages did not add up to `count`). */
type WholeRead<T> = { readonly items: T[]; readonly problem?: undefined } | { readonly items?: undefined; readonly problem: string };

export class NetboxRestClient {
  private readonly root: URL;
  private readonly fetchFn: FetchFn;
  private readonly pageSize: number;
  private readonly maxPages: number;
  private readonly wait: Sleep;

  constructor(private readonly options: NetboxRestOptions) {
    this.root = apiRoot(options.baseUrl);
    this.fetchFn = options.fetch ?? ((url, init) => fetch(url, { ...init, redirect: 'manual' }));
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
    this.wait = options.sleep ?? realSleep;
  }

  /** The URL of an API path such as `virtualization/virtual-machines/` (the trailing slash is added when missing). */
  urlFor(path: string, query: Readonly<Record<string, string>> = {}): URL {
    const relative = path.replace(/^\/+/, '').replace(/^api\//, '');
    const url = new URL(relative.endsWith('/') ? relative : `${relative}/`, this.root);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url;
  }

  /** One object (or any non-list answer). */
  async get(path: string, options: ListOptions): Promise<unknown> {
    const answer = await this.request(this.urlFor(path, { ...options.query, ...(options.brief ? { brief: '1' } : {}) }), options.operation, path);
    return answer.body;
  }

  /**
   * Every page of a list, following `next`. The first request asks for `limit=pageSize`;
   * each `next` must stay on the same origin and path (the token goes nowhere else), its
   * offset must move forward, and no more than maxPages are read.
   */
  async *pages(path: string, options: ListOptions): AsyncGenerator<readonly unknown[]> {
    for await (const page of this.pageAnswers(path, options)) yield page.results;
  }

  private async *pageAnswers(path: string, options: ListOptions): AsyncGenerator<PageAnswer> {
    // Rendered config contexts can dwarf the objects themselves (the overview's advice).
    const lean: Record<string, string> = /(^|\/)(virtual-machines|devices)\/?$/.test(path) ? { exclude: 'config_context' } : {};
    const first = this.urlFor(path, { limit: String(this.pageSize), ...lean, ...options.query, ...(options.brief ? { brief: '1' } : {}) });
    let url: URL | undefined = first;
    let previousOffset = -1;
    const seen = new Set<string>();
    for (let page = 1; url; page += 1) {
      if (page > this.maxPages) {
        throw new InconsistentPagination(`${options.operation}: more than ${this.maxPages} pages at ${describeUrl(first)}; the listing is taken to be looping and is not used.`);
      }
      seen.add(url.href);
      const { body, requestId } = await this.request(url, options.operation, path);
      const results = (body as { results?: unknown } | undefined)?.results;
      if (!Array.isArray(results)) {
        const what = typeof body === 'string' ? `is not JSON ("${body.slice(0, 80)}")` : body === undefined ? 'has no body' : 'is not a NetBox list (no "results" array)';
        throw new VendorApiError(`${options.operation}: the answer from ${describeUrl(url)} ${what} (${quoteId(requestId)}).`);
      }
      const count = (body as { count?: unknown }).count;
      yield { results, count: typeof count === 'number' ? count : undefined, requestId };
      const next = (body as { next?: unknown }).next;
      if (next === null || next === undefined || next === '') return;
      if (typeof next !== 'string') throw new VendorApiError(`${options.operation}: "next" is not a link (${typeof next}) (${quoteId(requestId)}).`);
      url = this.checkedNext(next, first, previousOffset, seen, options.operation, requestId);
      previousOffset = Number(url.searchParams.get('offset') ?? previousOffset + 1);
      // A page with nothing on it and a next link would loop over nothing for ever.
      if (results.length === 0) {
        throw new InconsistentPagination(`${options.operation}: an empty page at ${describeUrl(first)} still links to a next page (${quoteId(requestId)}).`);
      }
    }
  }

  /**
   * Every item of a list, each passed through `map` as it arrives (so only what is kept
   * stays in memory). A list is whole only when its distinct ids number what the last page's
   * `count` says and no id came twice: limit/offset pages shift when objects are added or
   * deleted meanwhile, and a `next` may end early. Otherwise it is read again, up to
   * LIST_ATTEMPTS times, then InconsistentPagination says what the server did: nothing is
   * ever decided from a partial list.
   */
  async list<T>(path: string, options: ListOptions, map: (item: unknown) => T): Promise<T[]> {
    for (let attempt = 1; ; attempt += 1) {
      const read = await this.readWhole(path, options, map);
      if (read.items) return read.items;
      if (attempt >= LIST_ATTEMPTS) {
        throw new InconsistentPagination(`${options.operation}: ${read.problem}; read ${LIST_ATTEMPTS} times, never whole, so it cannot be taken as complete.`);
      }
      this.options.log?.('NetBox list did not add up; reading it again', { operation: options.operation, attempt, problem: read.problem });
    }
  }

  private async readWhole<T>(path: string, options: ListOptions, map: (item: unknown) => T): Promise<WholeRead<T>> {
    const items: T[] = [];
    const ids = new Set<string>();
    let repeated = 0;
    let last: PageAnswer | undefined;
    let first: PageAnswer | undefined;
    for await (const page of this.pageAnswers(path, options)) {
      first ??= page;
      last = page;
      for (const item of page.results) {
        const id = (item as { id?: unknown } | null)?.id;
        // An object without an id (none in NetBox) cannot be checked for repeats: counted as distinct.
        const key = typeof id === 'number' || typeof id === 'string' ? String(id) : `#${items.length}`;
        if (ids.has(key)) repeated += 1;
        else ids.add(key);
        items.push(map(item));
      }
    }
    const count = last?.count;
    if (count === undefined) return { items };
    if (repeated === 0 && ids.size === count) return { items };
    const changed = first?.count !== undefined && first.count !== count ? ` (count went from ${first.count} on the first page to ${count} on the last: the list changed while it was read)` : '';
    const twice = repeated > 0 ? `, ${repeated} of them read twice (the pages shifted)` : '';
    return {
      problem:
        `the pages held ${ids.size} distinct objects${twice}, but NetBox's count on the last page (${quoteId(last?.requestId)}) says ${count}${changed}` +
        (changed === '' && repeated === 0 && ids.size < count ? ': "next" ended before the list did' : ''),
    };
  }

  private checkedNext(next: string, first: URL, previousOffset: number, seen: Set<string>, operation: string, requestId: string | undefined): URL {
    let url: URL;
    try {
      url = new URL(next, first);
    } catch {
      throw new InconsistentPagination(`${operation}: "next" is not a URL (${quoteId(requestId)}).`);
    }
    // A reverse proxy that does not pass X-Forwarded-Proto/Host makes NetBox write links to
    // another origin; following them would send the token there, so the listing stops.
    if (url.origin !== first.origin || url.pathname !== first.pathname) {
      throw new InconsistentPagination(
        `${operation}: "next" leaves ${describeUrl(first)} for ${describeUrl(url)}; offsite follows only links to the same origin and path ` +
          `(behind a reverse proxy: does it pass X-Forwarded-Proto and Host to NetBox?) (${quoteId(requestId)}).`,
      );
    }
    const offset = url.searchParams.get('offset');
    if (seen.has(url.href) || (offset !== null && !(Number(offset) > previousOffset))) {
      throw new InconsistentPagination(`${operation}: "next" at ${describeUrl(first)} does not move forward (offset ${offset ?? 'absent'} after ${previousOffset}) (${quoteId(requestId)}).`);
    }
    return url;
  }

  private async request(url: URL, operation: string, path: string): Promise<Answer> {
    const maxInline = this.options.maxInlineRetryAfterSeconds ?? 30;
    for (let attempt = 0; ; attempt += 1) {
      let response: FetchResponse;
      try {
        response = await this.fetchFn(url, {
          method: 'GET',
          headers: { accept: 'application/json', authorization: authorizationHeader(this.options.token) },
          body: undefined,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
      } catch (error) {
        const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : networkReason(error);
        throw new TransientApiError(`${operation} failed: ${reason} (${describeUrl(url)})`, undefined, undefined, { cause: networkCause(error) });
      }
      const requestId = response.headers.get('x-request-id') ?? undefined;
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        // The answer began and broke off: as transient as no answer at all.
        const reason = (error as Error).name === 'TimeoutError' ? `no whole answer within ${this.options.timeoutMs} ms` : `the connection broke while NetBox was sending its answer (${networkReason(error)})`;
        throw new TransientApiError(`${operation} failed: ${reason}; HTTP ${response.status} (${quoteId(requestId)}) from ${describeUrl(url)}`, undefined, undefined, { cause: networkCause(error) });
      }
      const body = parseBody(text);
      if (response.ok) return { body, requestId };
      const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
      if ((response.status === 429 || response.status >= 500) && retryAfterSeconds !== undefined && retryAfterSeconds <= maxInline && attempt < 2) {
        await this.wait(retryAfterSeconds * 1000);
        continue;
      }
      const error = this.errorFor({ operation, status: response.status, retryAfterSeconds, body, requestId, url, path, location: response.headers.get('location') ?? undefined });
      this.options.log?.('NetBox answered with an error', { operation, status: response.status, requestId: requestId ?? null, url: describeUrl(url), error: error.message });
      throw error;
    }
  }

  private errorFor(answer: {
    operation: string;
    status: number;
    retryAfterSeconds: number | undefined;
    body: unknown;
    requestId: string | undefined;
    url: URL;
    path: string;
    location: string | undefined;
  }): Error {
    const { operation, status, body, requestId } = answer;
    const detail = detailOf(body);
    const quoted = `${detail ? ` — "${detail}"` : ''} (X-Request-ID ${requestId ?? 'not sent'})`;
    if (status >= 300 && status < 400) {
      return new VendorApiError(
        `${operation} failed: NetBox redirected (HTTP ${status}) from ${describeUrl(answer.url)}${answer.location ? ` to ${answer.location.split('?')[0] ?? ''}` : ''}${quoted}; ` +
          'check baseUrl: it is the NetBox address without /api (offsite adds /api/ and trailing slashes).',
        status,
      );
    }
    if (status === 401 || status === 403) {
      const invalid = /invalid|expired|not valid/i.test(detail);
      const missing = /credentials were not provided/i.test(detail);
      const what = invalid
        ? `${this.options.tokenLabel} is not accepted (wrong, expired, or restricted to other client IPs)`
        : missing
          ? `${this.options.tokenLabel} did not reach NetBox (does a proxy strip the Authorization header?)`
          : `${this.options.tokenLabel} lacks the permission to read ${answer.path.replace(/^\/+/, '')} (likely ${likelyViewPermission(answer.path)})`;
      return new NotAuthorized(`${operation} failed: HTTP ${status}${quoted}: ${what}.`);
    }
    return statusError({ operation, status, retryAfterSeconds: answer.retryAfterSeconds }, `${detail ? `"${detail}" ` : ''}(X-Request-ID ${requestId ?? 'not sent'})`);
  }
}

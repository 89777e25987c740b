import { NotAuthorized, TransientApiError, VendorApiError } from './errors';

/** What requestJson needs of fetch: the global one, or undici's with a per-target TLS dispatcher. */
export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}
export type FetchFn = (
  url: URL,
  init: { method: string; headers: Record<string, string>; body: string | undefined; signal: AbortSignal },
) => Promise<FetchResponse>;
export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What mapping a non-2xx answer to an error needs of it. */
export interface HttpStatusAnswer {
  /** What the call was for, in words ("list backups"); goes into every error message. */
  readonly operation: string;
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;
}

export interface HttpErrorContext extends HttpStatusAnswer {
  readonly method: string;
  /** The body as parseBody read it: parsed JSON, a short text, or undefined. */
  readonly body: unknown;
}

export interface JsonRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: URL;
  readonly operation: string;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
  /** Sent as application/x-www-form-urlencoded instead of a JSON body (OAuth 2 token requests). */
  readonly form?: Record<string, string>;
  /** GETs are repeated after a short Retry-After; creating calls only when the vendor said it did not act (429). */
  readonly idempotent: boolean;
}

export interface HttpOptions {
  readonly fetch?: FetchFn;
  readonly timeoutMs: number;
  readonly sleep?: Sleep;
  /** A Retry-After longer than this is handed to the state machine instead of waited out here. */
  readonly maxInlineRetryAfterSeconds?: number;
  /** How many times one call waits out a Retry-After inside the function. */
  readonly maxInlineRetries?: number;
  /** Maps a non-2xx answer to a typed error; return undefined for the default mapping. */
  readonly mapError?: (context: HttpErrorContext) => Error | undefined;
}

/** Seconds from a Retry-After header (delta-seconds or HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** Where a request went, without its query string: presigned URLs carry their signature there. */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** The most of a non-JSON body that an error message quotes. */
export const QUOTED_BODY_CHARS = 200;

const HTML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/**
 * A non-JSON body as a short text for an error message. Gateways and proxies in front of
 * an API answer 5xx with whole HTML pages: a message quotes the page's title (or its
 * first words), never the markup, and says how big the page was. Other text longer than
 * QUOTED_BODY_CHARS is cut the same way, so no message carries a whole body.
 */
export function shortBodyText(text: string): string {
  const bytes = Buffer.byteLength(text);
  const cut = (words: string): string => (words.length > QUOTED_BODY_CHARS ? `${words.slice(0, QUOTED_BODY_CHARS - 1).trimEnd()}…` : words);
  if (/^\s*</.test(text)) {
    const visible = (markup: string): string =>
      markup
        .replace(/<!--[\s\S]*?-->/g, ' ')
        .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
        .replace(/<[^>]*>/g, ' ')
        .replace(/&(#39|[a-z]+);/gi, (entity, name: string) => HTML_ENTITIES[name.toLowerCase()] ?? entity)
        .replace(/\s+/g, ' ')
        .trim();
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1];
    const words = visible(title ?? '') || visible(text);
    return `${words ? `${cut(words)} ` : ''}(HTML page, ${bytes} bytes)`;
  }
  if (text.length <= QUOTED_BODY_CHARS) return text;
  return `${cut(text.replace(/\s+/g, ' ').trim())} (${bytes} bytes)`;
}

/** A body as JSON when it is JSON, else as its short text (shortBodyText); undefined when empty. */
export function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return shortBodyText(text);
  }
}

/**
 * What an error message quotes of a body without vendor error fields: a text body as
 * parseBody left it. It is short already; shortening it again would cut it twice and
 * give the size of the cut text instead of the body's. Vendor describers fall back to it.
 */
export function describeBody(body: unknown): string {
  return typeof body === 'string' ? body : '';
}

/** A header's first value, from fetch's Headers.get (string | null) or a Node or undici header record (string | string[] | undefined). */
export function headerValue(value: string | readonly string[] | null | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/**
 * The one mapping of a non-2xx status to a typed error: 429 and 5xx are TransientApiError
 * (retried with backoff, carrying the status and the Retry-After seconds), 401/403
 * NotAuthorized, anything else VendorApiError. A vendor client maps its own cases first
 * (mapError) and leaves the rest to this. `notAuthorizedHint` says what a 401/403 likely
 * means for this call.
 */
export function statusError(answer: HttpStatusAnswer, detail: string, notAuthorizedHint?: string): Error {
  const message = `${answer.operation} failed: HTTP ${answer.status}${detail ? ` — ${detail}` : ''}`;
  if (isTransientStatus(answer.status)) return new TransientApiError(message, answer.retryAfterSeconds, answer.status);
  if (answer.status === 401 || answer.status === 403) return new NotAuthorized(notAuthorizedHint ? `${message} (${notAuthorizedHint})` : message);
  return new VendorApiError(message, answer.status);
}

/** A streamed answer (undici.request): its status, its headers as Node gives them, and a body to read once. */
export interface StreamedResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: { text(): Promise<string> };
}

/** Reads a streamed non-2xx answer to its end for statusError; a body that breaks off while read counts as empty. */
export async function readErrorAnswer(response: StreamedResponse, method: string, operation: string): Promise<HttpErrorContext> {
  const text = await response.body.text().catch(() => '');
  return { method, operation, status: response.statusCode, body: parseBody(text), retryAfterSeconds: parseRetryAfter(headerValue(response.headers['retry-after'])) };
}

/**
 * One JSON call with a timeout. 429/5xx, timeouts and dropped connections become
 * TransientApiError (retried by the state machine with backoff and jitter); a short
 * Retry-After is honoured here first. Error messages carry the vendor's error body.
 */
export async function requestJson(request: JsonRequest, options: HttpOptions, describeError: (body: unknown) => string): Promise<unknown> {
  const fetchFn: FetchFn = options.fetch ?? fetch;
  const wait = options.sleep ?? sleep;
  const maxInline = options.maxInlineRetryAfterSeconds ?? 30;
  const maxRetries = options.maxInlineRetries ?? 2;
  for (let attempt = 0; ; attempt += 1) {
    let response: FetchResponse;
    const contentType = request.form ? 'application/x-www-form-urlencoded' : request.body === undefined ? undefined : 'application/json';
    try {
      response = await fetchFn(request.url, {
        method: request.method,
        headers: { accept: 'application/json', ...(contentType ? { 'content-type': contentType } : {}), ...request.headers },
        body: request.form ? new URLSearchParams(request.form).toString() : request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : networkReason(error);
      throw new TransientApiError(`${request.operation} failed: ${reason} (${describeUrl(request.url)})`, undefined, undefined, { cause: networkCause(error) });
    }
    if (response.ok) {
      return parseBody(await response.text());
    }
    const body = parseBody(await response.text());
    const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
    const context: HttpErrorContext = { method: request.method, operation: request.operation, status: response.status, body, retryAfterSeconds };
    const mayRepeat = response.status === 429 || (request.idempotent && response.status >= 500);
    if (mayRepeat && retryAfterSeconds !== undefined && retryAfterSeconds <= maxInline && attempt < maxRetries) {
      await wait(retryAfterSeconds * 1000);
      continue;
    }
    throw options.mapError?.(context) ?? statusError(context, describeError(body));
  }
}

/**
 * A network failure in words: the error code or name only. Messages are not passed on
 * because some of them quote what was sent (a header value with the API key in it, a URL).
 */
export function networkReason(error: unknown): string {
  const { code, name, cause } = error as { code?: unknown; name?: unknown; cause?: { code?: unknown; name?: unknown } };
  const reason = [cause?.code, code, cause?.name, name].find((value): value is string => typeof value === 'string' && value !== '' && value !== 'Error');
  return `network error ${reason ?? '(no detail)'}`;
}

/**
 * What a network error may pass on as an Error's cause: its code and name, and for a TLS
 * error the host asked for and the certificate's names. Never the raw error, whose
 * message or fields can quote what was sent (a header with a key, a URL with a signature).
 */
export function networkCause(error: unknown): { code?: string; name?: string; host?: string; cert?: { subjectaltname: string } } {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth += 1) {
    const { code, name, host, cert, cause } = current as { code?: unknown; name?: unknown; host?: unknown; cert?: { subjectaltname?: unknown }; cause?: unknown };
    if (typeof code === 'string') {
      return {
        code,
        ...(typeof name === 'string' ? { name } : {}),
        ...(typeof host === 'string' ? { host } : {}),
        ...(typeof cert?.subjectaltname === 'string' ? { cert: { subjectaltname: cert.subjectaltname } } : {}),
      };
    }
    current = cause;
  }
  return typeof (error as { name?: unknown })?.name === 'string' ? { name: (error as { name: string }).name } : {};
}


// The HTTP plumbing the vendor simulators share: reading a request, answering it and
// finding the route it is for. What an answer says (error bodies, codes, wording of
// anything vendor-specific) stays with each vendor.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Headers = Record<string, string>;

/** A request a simulator received, as the tests read it back. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** What the credential check concluded; the Authorization header itself is never kept. */
  authorized: boolean;
}

// ---------------------------------------------------------------------------------
// Reading a request

/** The request's method (upper case) and URL; the URL's origin is a placeholder, only path and query are real. */
export function requestTarget(request: IncomingMessage): { method: string; url: URL } {
  return { method: (request.method ?? 'GET').toUpperCase(), url: new URL(request.url ?? '/', 'http://simulator.invalid') };
}

/**
 * The whole body, or 'too-large' once it passes `limit` bytes. The rest is still read (and
 * dropped), so the answer can be sent on a connection that stays usable.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        tooLarge = true;
        chunks.length = 0;
      } else if (!tooLarge) chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Marks a request body that was not valid JSON (distinct from every JSON value). */
export const MALFORMED: unique symbol = Symbol('malformed-json');

/** The JSON value a body holds: undefined for an empty body, MALFORMED when it is not JSON. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return MALFORMED;
  }
}

/**
 * The JSON object an operation needs, from what parseJson gave; anything else goes to
 * `refuse` with the message both APIs use and whether the body was JSON at all.
 */
export function jsonObject(value: unknown, refuse: (message: string, notJson: boolean) => never): Record<string, unknown> {
  if (value === MALFORMED) refuse('The request body is not valid JSON.', true);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse('The request body must be a JSON object.', false);
  return value as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------
// Answering

/**
 * An answer a route throws to end the request early. A string body is an HTML page (what a
 * web server or gateway in front of the API sends); anything else is sent as JSON.
 */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Headers = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/** The text of a 500 for an error the simulator did not mean to throw. */
export function simulatorErrorText(error: unknown): string {
  return `Simulator error: ${error instanceof Error ? error.message : String(error)}`;
}

/** Answers with the whole payload and its Content-Length; a 204 or no payload sends no body. */
export function send(response: ServerResponse, status: number, headers: Headers, payload?: Buffer | string): void {
  if (status === 204 || payload === undefined) {
    response.writeHead(status, headers);
    response.end();
    return;
  }
  response.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(payload)) });
  response.end(payload);
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  send(response, status, { ...headers, 'Content-Type': 'application/json' }, status === 204 ? undefined : JSON.stringify(body));
}

export function sendHtml(response: ServerResponse, status: number, page: string, headers: Headers = {}, contentType = 'text/html'): void {
  send(response, status, { ...headers, 'Content-Type': contentType }, page);
}

/**
 * List order is not documented by either vendor, so lists come back sorted by id (a random
 * UUID), never newest-first: a client that leans on an order finds out here.
 */
export function byId<T extends { id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

// ---------------------------------------------------------------------------------
// Route table

/** One resource: the paths it answers and what each method does there. */
export interface Route<Operation> {
  pattern: RegExp;
  /** Whether the resource exists right now (default: always). */
  enabled?: () => boolean;
  methods: Partial<Record<string, Operation>>;
}

/**
 * The first enabled route whose pattern matches the path, with the pattern's captures
 * URL-decoded (a capture that does not decode is kept as sent); undefined means 404.
 */
export function matchRoute<R extends Route<unknown>>(routes: readonly R[], path: string): { route: R; params: string[] } | undefined {
  const route = routes.find((candidate) => candidate.pattern.test(path) && (candidate.enabled?.() ?? true));
  if (!route) return undefined;
  const params = (route.pattern.exec(path) ?? []).slice(1).map((param = '') => {
    try {
      return decodeURIComponent(param);
    } catch {
      return param;
    }
  });
  return { route, params };
}

/** The route's operation for this method, or, for a 405, the Allow header naming the methods it has. */
export function operationFor<Operation>(route: Route<Operation>, method: string): { operation: Operation } | { allow: string } {
  const operation = route.methods[method];
  return operation === undefined ? { allow: Object.keys(route.methods).join(', ') } : { operation };
}

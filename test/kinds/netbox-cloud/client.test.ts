import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NetboxCloudClient } from '../../../functions/kinds/netbox-cloud/client';
import { InconsistentPagination, NotAuthorized, RateLimited, TransientApiError, VendorApiError } from '../../../functions/shared/errors';
import { TargetVersionUnavailable } from '../../../functions/kinds/netbox-cloud/errors';
import { GATEWAY_502_HTML, startNetboxCloudSimulator, type NetboxCloudSimulator } from '../../../bin/sandbox/netbox-cloud';

describe('NetboxCloudClient', () => {
  let simulator: NetboxCloudSimulator;
  const sleeps: number[] = [];
  const client = (overrides: { apiKey?: string; pageSize?: number } = {}): NetboxCloudClient =>
    new NetboxCloudClient({
      baseUrl: simulator.url,
      orgId: simulator.orgId,
      apiKey: overrides.apiKey ?? simulator.apiKey,
      pageSize: overrides.pageSize ?? 100,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

  beforeEach(async () => {
    sleeps.length = 0;
    simulator = await startNetboxCloudSimulator({ seedBackupsPerInstance: 5, backupRequestDurationMs: 50, retrievalDurationMs: 50 });
  });

  afterEach(async () => {
    await simulator.stop();
  });

  test('walks every page of the backup list', async () => {
    // Prepare: 2 instances × 5 seeded backups = 10 items, 3 per page.

    // Act
    const backups = await client({ pageSize: 3 }).listBackups();

    // Assess
    expect(backups.map((backup) => backup.id).sort()).toEqual(simulator.listBackups().map((backup) => backup.id).sort());
    const pages = simulator.requests.filter((request) => request.path.endsWith('/backups/')).map((request) => request.query.page);
    expect(pages).toEqual(['1', '2', '3', '4']);
  });

  test('sends the date filters as initial_date and end_date', async () => {
    // Act
    await client().listBackups({ initialDate: '2026-03-01', endDate: '2026-03-31' });

    // Assess
    expect(simulator.requests[0]?.query).toMatchObject({ initial_date: '2026-03-01', end_date: '2026-03-31', page: '1', page_size: '100' });
  });

  test('authenticates with the Bearer API key', async () => {
    // Act
    await client().listBackupRequests();

    // Assess
    expect(simulator.requests.every((request) => request.authorized)).toBe(true);
  });

  test('creates a backup request for the instance and finds it in the request list', async () => {
    // Act
    const id = await client().requestBackup('nb-a12ff000777');
    const requests = await client().listBackupRequests();

    // Assess
    expect(simulator.requests.find((request) => request.method === 'POST')?.body).toEqual({ obj_id: 'nb-a12ff000777', obj_type: 'netbox' });
    expect(requests.map((request) => request.id)).toContain(id);
  });

  test('filters restore jobs by target_nb_id', async () => {
    // Act
    await client().listRestoreJobs({ targetInstanceId: 'nb-b23ff000888' });

    // Assess
    expect(simulator.requests[0]?.query).toMatchObject({ target_nb_id: 'nb-b23ff000888' });
  });

  test('a rejected key is NotAuthorized and says so, carrying the error body', async () => {
    // Act
    const failure = client({ apiKey: 'wrong-key' }).listBackups();

    // Assess
    await expect(failure).rejects.toBeInstanceOf(NotAuthorized);
    await expect(failure).rejects.toThrow(/HTTP 401: the API key was rejected \(wrong or expired\) — .*reference [0-9a-f-]{36}/);
  });

  test.each([
    ['GET', '/backups/', (c: NetboxCloudClient) => c.listBackups(), 'Request Backups" Read'],
    ['POST', '/backup-retrieved/', (c: NetboxCloudClient) => c.requestRetrieval('some-backup'), 'Retrieve Backups" Write'],
    ['GET', '/backup-restore/', (c: NetboxCloudClient) => c.listRestoreJobs(), 'Restore Backups" Read'],
  ])('a 403 on %s %s names the missing permission', async (method, path, call, permission) => {
    // Prepare
    simulator.failNext({ method, pathIncludes: path }, 403, { body: { error_code: 'FORBIDDEN', error_message: 'Insufficient permissions', error_reference_id: 'ref-403' } });

    // Act
    const failure = call(client());

    // Assess
    await expect(failure).rejects.toBeInstanceOf(NotAuthorized);
    await expect(failure).rejects.toThrow(`the API key lacks the "${permission} permission — Insufficient permissions; error_code FORBIDDEN; reference ref-403`);
  });

  test('a 422 on restore is TargetVersionUnavailable with the vendor message', async () => {
    // Prepare
    simulator.failNext({ method: 'POST', pathIncludes: '/backup-restore/' }, 422, {
      body: { error_code: 'UNPROCESSABLE', error_message: 'Target version not available', error_reference_id: 'ref-422' },
    });

    // Act
    const failure = client().requestRestore('some-retrieval', 'nb-b23ff000888');

    // Assess
    await expect(failure).rejects.toBeInstanceOf(TargetVersionUnavailable);
    await expect(failure).rejects.toThrow(/target version not available\) — Target version not available; error_code UNPROCESSABLE; reference ref-422/);
  });

  test('waits out a short Retry-After on a 429 and then succeeds', async () => {
    // Prepare
    simulator.failNext({ method: 'GET', pathIncludes: '/backups/' }, 429, { headers: { 'Retry-After': '7' } });

    // Act
    const backups = await client().listBackups();

    // Assess
    expect(backups.length).toBeGreaterThan(0);
    expect(sleeps).toEqual([7000]);
  });

  test('hands a long Retry-After to the state machine as TransientApiError', async () => {
    // Prepare
    simulator.failNext({ method: 'GET', pathIncludes: '/backups/' }, 429, { headers: { 'Retry-After': '600' } });

    // Act
    const failure = client().listBackups();

    // Assess
    await expect(failure).rejects.toMatchObject({ name: 'TransientApiError', retryAfterSeconds: 600 });
    expect(sleeps).toEqual([]);
  });

  test('a 429 on a creating call is RateLimited: the vendor did not act, so it may be repeated', async () => {
    // Prepare
    simulator.failNext({ method: 'POST', pathIncludes: '/backup-requests/' }, 429);

    // Act / Assess
    await expect(client().requestBackup('nb-a12ff000777')).rejects.toBeInstanceOf(RateLimited);
  });

  test('an HTML 5xx body shows as a short text, not the page', async () => {
    // Prepare
    simulator.failNext({ method: 'GET', pathIncludes: '/backups/' }, 502, { html: GATEWAY_502_HTML });

    // Act
    const failure = client().listBackups();

    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientApiError);
    const message = await failure.catch((error: Error) => error.message);
    expect(message).toContain('HTTP 502 — 502 Bad Gateway (HTML page');
    expect(message).not.toMatch(/<|padding|nginx/);
    expect(message.length).toBeLessThan(200);
  });

  test('a 2xx answer to a creating call without an id is no id, not a failure: the call may have acted', async () => {
    // Prepare
    simulator.failNext({ method: 'POST', pathIncludes: '/backup-requests/' }, 201, { body: { status: 'accepted' }, afterHandling: true });

    // Act
    const id = await client().requestBackup('nb-a12ff000777');

    // Assess
    expect(id).toBeUndefined();
    expect(simulator.listBackupRequests()).toHaveLength(1);
  });

  test('a listing whose page 2 repeats page 1 is InconsistentPagination, against the simulator too', async () => {
    // Prepare
    simulator.repeatFirstPage('/backups/');

    // Act
    const failure = client({ pageSize: 3 }).listBackups();

    // Assess
    await expect(failure).rejects.toBeInstanceOf(InconsistentPagination);
    // Read whole three times (a listing may shift while backups are made), then reported.
    expect(simulator.requests.map((request) => request.query.page)).toEqual(['1', '2', '1', '2', '1', '2']);
  });

  test('a 5xx is TransientApiError', async () => {
    // Prepare
    simulator.failNext({ method: 'GET', pathIncludes: '/backup-retrieved/' }, 503);

    // Act / Assess
    await expect(client().listRetrievals()).rejects.toBeInstanceOf(TransientApiError);
  });

  test('an unexpected 4xx is a VendorApiError with the status', async () => {
    // Act
    const failure = client().requestBackup('nb-unknown000');

    // Assess
    await expect(failure).rejects.toBeInstanceOf(VendorApiError);
    await expect(failure).rejects.toMatchObject({ status: 404 });
  });
});

describe('NetboxCloudClient against a server that misbehaves', () => {
  let server: Server;
  let baseUrl: string;
  let respond: (url: string, reply: (status: number, body: unknown) => void) => void;

  beforeAll(async () => {
    server = createServer((request, response) => {
      respond(request.url ?? '', (status, body) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a request that gets no answer within the timeout is TransientApiError', async () => {
    // Prepare: never answer.
    respond = () => undefined;
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key', timeoutMs: 200 });

    // Act / Assess
    await expect(client.listBackups()).rejects.toThrow(/list backups \(page 1\) failed: no answer within 200 ms/);
  });

  test('stops walking when the server never says last_page, at the first empty page', async () => {
    // Prepare: pages 1-2 have items, then empty pages; no pagination metadata at all.
    respond = (url, reply) => {
      const page = Number(new URL(url, baseUrl).searchParams.get('page'));
      reply(200, { data: page <= 2 ? [{ id: `b${page}`, obj_id: 'nb-x', created: '2026-01-01T00:00:00Z' }] : [] });
    };
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key', pageSize: 1 });

    // Act
    const backups = await client.listBackups();

    // Assess
    expect(backups.map((backup) => backup.id)).toEqual(['b1', 'b2']);
  });

  test('stops when the server ignores page and answers the first page again', async () => {
    // Prepare: a full page every time, always the same one, with no pagination metadata.
    let calls = 0;
    respond = (_url, reply) => {
      calls += 1;
      reply(200, { data: [{ id: 'job-1', target_nb_id: 'nb-x' }, { id: 'job-2', target_nb_id: 'nb-x' }] });
    };
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key', pageSize: 2 });

    // Act
    const jobs = await client.listRestoreJobs();

    // Assess
    expect(jobs.map((job) => job.id)).toEqual(['job-1', 'job-2']);
    expect(calls).toBe(2);
  });

  /** A server whose every page has the items of `pageItems(page)` and the pagination `meta(page)`. */
  function pages(pageItems: (page: number) => string[], meta: (page: number) => Record<string, unknown>): () => number {
    let calls = 0;
    respond = (url, reply) => {
      calls += 1;
      const page = Number(new URL(url, baseUrl).searchParams.get('page'));
      reply(200, { data: pageItems(page).map((id) => ({ id, backup_id: 'b-1' })), metadata: { pagination: { current_page: page, page_size: 2, ...meta(page) } } });
    };
    return () => calls;
  }

  test('a page that repeats page 1 while claiming more pages is InconsistentPagination naming what the server did', async () => {
    // Prepare
    const calls = pages(() => ['r-1', 'r-2'], () => ({ total_items: 2_000_000, total_pages: 1_000_000, last_page: false }));
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key', pageSize: 2 });

    // Act
    const failure = client.listRetrievals();

    // Assess
    await expect(failure).rejects.toMatchObject({
      name: 'InconsistentPagination',
      message: expect.stringMatching(/list retrievals: page 2 repeats 2 of its 2 items from earlier pages \(it claims total_pages 1000000, last_page false\)/),
    });
    expect(calls()).toBe(6);
  });

  test('a listing that shifted under a backup made meanwhile is read again, and the second, consistent read is used', async () => {
    // Prepare: on the first read, a new backup pushes r-2 onto page 2 as well; the second read is consistent.
    let calls = 0;
    respond = (url, reply) => {
      calls += 1;
      const page = Number(new URL(url, baseUrl).searchParams.get('page'));
      const shifted = calls <= 2;
      const items = page === 1 ? ['r-1', 'r-2'] : shifted ? ['r-2', 'r-3'] : ['r-3'];
      reply(200, { data: items.map((id) => ({ id, backup_id: 'b-1' })), metadata: { pagination: { current_page: page, page_size: 2, total_items: 3, total_pages: 2, last_page: page === 2 } } });
    };
    const warnings: string[] = [];
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key', pageSize: 2, warn: (line) => warnings.push(line) });

    // Act
    const retrievals = await client.listRetrievals();

    // Assess
    expect(retrievals.map((retrieval) => retrieval.id)).toEqual(['r-1', 'r-2', 'r-3']);
    expect(calls).toBe(4);
    expect(warnings.join('\n')).toMatch(/Reading the listing again \(attempt 2 of 3\)/);
  });

  test('a last page that says more pages follow (a page beyond total_pages) is InconsistentPagination', async () => {
    // Prepare
    pages((page) => [`r-${page}a`, `r-${page}b`], () => ({ total_items: 4, total_pages: 2, last_page: false }));
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key', pageSize: 2 });

    // Act / Assess
    await expect(client.listRetrievals()).rejects.toThrow(/page 2 says last_page false, but total_pages is 2/);
  });

  test('totals that change between pages are InconsistentPagination', async () => {
    // Prepare
    pages((page) => [`r-${page}a`, `r-${page}b`], (page) => ({ total_items: 4 + page, total_pages: 3, last_page: page === 3 }));
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key', pageSize: 2 });

    // Act / Assess
    await expect(client.listRetrievals()).rejects.toThrow(/total_items was 5 on page 1 and is 6 on page 2/);
  });

  test('a listing that ends with fewer items than total_items is InconsistentPagination', async () => {
    // Prepare
    pages((page) => [`r-${page}a`, `r-${page}b`], (page) => ({ total_items: 9, last_page: page === 2 }));
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key', pageSize: 2 });

    // Act / Assess
    await expect(client.listRetrievals()).rejects.toThrow(/the last page \(2\) brings the listing to 4 items, but total_items is 9/);
  });

  test('follows no more than maxPages pages of a listing that never ends', async () => {
    // Prepare
    const calls = pages((page) => [`r-${page}a`, `r-${page}b`], () => ({ last_page: false }));
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key', pageSize: 2, maxPages: 5 });

    // Act
    const failure = client.listRetrievals();

    // Assess
    await expect(failure).rejects.toMatchObject({ name: 'InconsistentPagination', message: expect.stringMatching(/still claims more pages after 5 pages/) });
    expect(calls()).toBe(5);
  });

  test('when the item sought was already listed, an inconsistent listing is used as it is, with a warning', async () => {
    // Prepare
    pages(() => ['r-1', 'r-2'], () => ({ total_items: 2_000_000, total_pages: 1_000_000, last_page: false }));
    const warnings: string[] = [];
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key', pageSize: 2, warn: (message) => warnings.push(message) });

    // Act
    const retrievals = await client.listRetrievals({ seek: (retrieval) => retrieval.id === 'r-2' });

    // Assess
    expect(retrievals.map((retrieval) => retrieval.id)).toEqual(['r-1', 'r-2']);
    expect(warnings).toEqual([expect.stringMatching(/list retrievals: page 2 repeats .*; the item sought is already listed/)]);
  });

  test('an answer without the documented shape is a VendorApiError, not a crash', async () => {
    // Prepare
    respond = (_url, reply) => reply(200, { items: [] });
    const client = new NetboxCloudClient({ baseUrl, orgId: 'org', apiKey: 'key' });

    // Act / Assess
    await expect(client.listBackups()).rejects.toThrow(/not the documented \{data, metadata.pagination\} shape/);
  });
});

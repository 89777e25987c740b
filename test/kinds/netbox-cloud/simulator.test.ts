import { createHash } from 'node:crypto';
import {
  GATEWAY_502_HTML,
  startNetboxCloudSimulator,
  type BackupItem,
  type BackupRequestItem,
  type NetboxCloudSimulator,
  type NetboxCloudSimulatorOptions,
  type RestoreJobItem,
  type RetrievalItem,
} from '../../../bin/sandbox/netbox-cloud';

interface Page<T> {
  data: T[];
  metadata: {
    pagination: {
      current_page: number;
      page_size: number;
      total_items: number;
      total_pages: number;
      first_page: boolean;
      last_page: boolean;
    };
  };
}

interface ErrorBody {
  error_code: string;
  error_message: string;
  error_details: unknown;
  error_reference_id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FAST: NetboxCloudSimulatorOptions = {
  backupRequestDurationMs: 150,
  retrievalDurationMs: 100,
  restoreDurationMs: 150,
  redeployDelayMs: 50,
  backupSizeBytes: 200_000,
};

let simulator: NetboxCloudSimulator | undefined;

async function startSimulator(options: NetboxCloudSimulatorOptions = {}): Promise<NetboxCloudSimulator> {
  simulator = await startNetboxCloudSimulator({ ...FAST, ...options });
  return simulator;
}

afterEach(async () => {
  await simulator?.stop();
  simulator = undefined;
});

function collectionUrl(sim: NetboxCloudSimulator, collection: string, query: Record<string, string> = {}): string {
  const search = new URLSearchParams(query).toString();
  return `${sim.url}/v2/organization/${sim.orgId}/${collection}/${search ? `?${search}` : ''}`;
}

function call(sim: NetboxCloudSimulator, method: 'GET' | 'POST', collection: string, options: { query?: Record<string, string>; body?: unknown; apiKey?: string | null } = {}): Promise<Response> {
  const apiKey = options.apiKey === undefined ? sim.apiKey : options.apiKey;
  return fetch(collectionUrl(sim, collection, options.query), {
    method,
    headers: {
      ...(apiKey === null ? {} : { Authorization: `Bearer ${apiKey}` }),
      ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
}

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function list<T>(sim: NetboxCloudSimulator, collection: string, query: Record<string, string> = {}): Promise<Page<T>> {
  const response = await call(sim, 'GET', collection, { query });
  expect(response.status).toBe(200);
  return json<Page<T>>(response);
}

async function create(sim: NetboxCloudSimulator, collection: string, body: unknown): Promise<string> {
  const response = await call(sim, 'POST', collection, { body });
  expect(response.status).toBe(201);
  return (await json<{ id: string }>(response)).id;
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function completedRetrievalById(sim: NetboxCloudSimulator, retrievalId: string): Promise<RetrievalItem> {
  return eventually(async () => (await list<RetrievalItem>(sim, 'backup-retrieved')).data.find((item) => item.id === retrievalId && item.completed !== null));
}

async function completedRetrieval(sim: NetboxCloudSimulator, backupId: string): Promise<RetrievalItem> {
  return completedRetrievalById(sim, await create(sim, 'backup-retrieved', { backup_id: backupId }));
}

function firstBackup(sim: NetboxCloudSimulator): BackupItem {
  const backup = sim.listBackups()[0];
  if (!backup) throw new Error('the simulator has no backups');
  return backup;
}

function expectErrorBody(body: ErrorBody): void {
  expect(typeof body.error_code).toBe('string');
  expect(body.error_code.length).toBeGreaterThan(0);
  expect(typeof body.error_message).toBe('string');
  expect('error_details' in body).toBe(true);
  expect(body.error_reference_id).toMatch(UUID);
}

describe('NetBox Cloud simulator: authentication', () => {
  test('answers 401 with the NetBox Cloud error body when the API key is missing or wrong', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const missing = await call(sim, 'GET', 'backups', { apiKey: null });
    const wrong = await call(sim, 'GET', 'backups', { apiKey: 'not-the-key' });

    // Assess
    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(401);
    expectErrorBody(await json<ErrorBody>(missing));
    expectErrorBody(await json<ErrorBody>(wrong));
    expect(sim.requests.map((request) => request.authorized)).toEqual([false, false]);
  });

  test('never records the API key in the request log', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    await call(sim, 'GET', 'backups');
    await call(sim, 'POST', 'backup-requests', { body: { obj_id: 'nb-a12ff000777', obj_type: 'netbox' } });

    // Assess
    expect(sim.requests).toHaveLength(2);
    expect(sim.requests.every((request) => request.authorized)).toBe(true);
    expect(JSON.stringify(sim.requests)).not.toContain(sim.apiKey);
  });

  test('answers 404 with an error body for an unknown organization or route', async () => {
    // Prepare
    const sim = await startSimulator();
    const headers = { Authorization: `Bearer ${sim.apiKey}` };

    // Act
    const unknownOrg = await fetch(`${sim.url}/v2/organization/org-other/backups/`, { headers });
    const unknownRoute = await fetch(`${sim.url}/v2/organization/${sim.orgId}/snapshots/`, { headers });

    // Assess
    expect(unknownOrg.status).toBe(404);
    expectErrorBody(await json<ErrorBody>(unknownOrg));
    expect(unknownRoute.status).toBe(404);
    expectErrorBody(await json<ErrorBody>(unknownRoute));
  });
});

describe('NetBox Cloud simulator: listing backups', () => {
  test('pages through backups with page_size=2 and correct pagination metadata', async () => {
    // Prepare
    const sim = await startSimulator({ instances: [{ id: 'nb-a12ff000777', version: '4.2.9' }], seedBackupsPerInstance: 5 });
    const everyBackup = sim.listBackups();

    // Act
    const pages = [];
    for (let page = 1; page <= 4; page++) pages.push(await list<BackupItem>(sim, 'backups', { page: String(page), page_size: '2' }));

    // Assess
    expect(pages.map((page) => page.data.length)).toEqual([2, 2, 1, 0]);
    expect(pages.map((page) => page.metadata.pagination)).toEqual([1, 2, 3, 4].map((current) => ({
      current_page: current,
      page_size: 2,
      total_items: everyBackup.length,
      total_pages: 3,
      first_page: current === 1,
      last_page: current >= 3,
    })));
    expect(pages.flatMap((page) => page.data)).toEqual(everyBackup);
  });

  test('returns backups in id order, not newest first', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackupsPerInstance: 4 });

    // Act
    const { data } = await list<BackupItem>(sim, 'backups');

    // Assess
    const ids = data.map((backup) => backup.id);
    expect(ids).toEqual([...ids].sort());
    expect(data.every((backup) => backup.obj_type === 'netbox' && backup.trigger_type === 'scheduled' && backup.trigger_id === '')).toBe(true);
    expect(data.every((backup) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(backup.created))).toBe(true);
  });

  test('uses the default page size of 100 when page_size is absent', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const { metadata } = await list<BackupItem>(sim, 'backups');

    // Assess
    expect(metadata.pagination).toMatchObject({ current_page: 1, page_size: 100, first_page: true, last_page: true });
  });

  test('rejects a page that is not a positive integer with 400 naming the parameter', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const zero = await call(sim, 'GET', 'backups', { query: { page: '0' } });
    const word = await call(sim, 'GET', 'backup-requests', { query: { page: 'two' } });

    // Assess
    expect(zero.status).toBe(400);
    expect((await json<ErrorBody>(zero)).error_message).toContain('page');
    expect(word.status).toBe(400);
    expect((await json<ErrorBody>(word)).error_message).toContain('page');
  });

  test('filters backups by initial_date and end_date as inclusive UTC days', async () => {
    // Prepare
    const sim = await startSimulator({ instances: [{ id: 'nb-a12ff000777', version: '4.2.9' }], seedBackupsPerInstance: 3 });
    const newestSeedDay = sim.listBackups().map((backup) => backup.created.slice(0, 10)).sort().at(-1) ?? '';

    // Act
    const sameDay = await list<BackupItem>(sim, 'backups', { initial_date: newestSeedDay, end_date: newestSeedDay });

    // Assess
    expect(sameDay.data).toHaveLength(1);
    expect(sameDay.data[0]?.created.slice(0, 10)).toBe(newestSeedDay);
  });

  test('rejects a malformed date filter with 400 naming the parameter', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const response = await call(sim, 'GET', 'backups', { query: { end_date: '2026-02-30' } });

    // Assess
    expect(response.status).toBe(400);
    expect((await json<ErrorBody>(response)).error_message).toContain('end_date');
  });
});

describe('NetBox Cloud simulator: backup requests', () => {
  test('shows the new backup only after its request has completed', async () => {
    // Prepare
    const sim = await startSimulator();
    const backupsBefore = sim.listBackups().length;

    // Act
    const requestId = await create(sim, 'backup-requests', { obj_id: 'nb-a12ff000777', obj_type: 'netbox' });
    const justCreated = (await list<BackupRequestItem>(sim, 'backup-requests')).data.find((item) => item.id === requestId);
    const backupsWhileRunning = (await list<BackupItem>(sim, 'backups')).data;
    const completed = await eventually(async () => (await list<BackupRequestItem>(sim, 'backup-requests')).data.find((item) => item.id === requestId && item.completed !== null));
    const backupsAfter = (await list<BackupItem>(sim, 'backups')).data;

    // Assess
    expect(justCreated).toMatchObject({ obj_id: 'nb-a12ff000777', obj_type: 'netbox', completed: null });
    expect(backupsWhileRunning).toHaveLength(backupsBefore);
    expect(backupsAfter).toHaveLength(backupsBefore + 1);
    const produced = backupsAfter.find((backup) => backup.trigger_id === requestId);
    expect(produced).toMatchObject({ obj_id: 'nb-a12ff000777', obj_version: '4.2.9', trigger_type: 'manual', size_bytes: 200_000 });
    const created = Date.parse(produced?.created ?? '');
    expect(created).toBeGreaterThanOrEqual(Date.parse(completed.started ?? ''));
    expect(created).toBeLessThanOrEqual(Date.parse(completed.completed ?? ''));
  });

  test('reports the sha256 of the served bytes as the checksum by default', async () => {
    // Prepare
    const sim = await startSimulator();
    const backup = firstBackup(sim);

    // Act
    const served = sim.backupBytes(backup.id);

    // Assess
    expect(served.length).toBe(backup.size_bytes);
    expect(backup.checksum).toBe(createHash('sha256').update(served).digest('hex'));
  });

  test('leaves trigger_id empty when triggerIdForRequests is false', async () => {
    // Prepare
    const sim = await startSimulator({ triggerIdForRequests: false, seedBackupsPerInstance: 0 });

    // Act
    const requestId = await create(sim, 'backup-requests', { obj_id: 'nb-b23ff000888', obj_type: 'netbox' });
    const backup = await eventually(async () => (await list<BackupItem>(sim, 'backups')).data[0]);

    // Assess
    expect(requestId).toMatch(UUID);
    expect(backup.trigger_id).toBe('');
  });

  test('keeps requests incomplete while neverCompleteBackupRequests is on', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackupsPerInstance: 0 });
    sim.neverCompleteBackupRequests(true);

    // Act
    const requestId = await create(sim, 'backup-requests', { obj_id: 'nb-a12ff000777', obj_type: 'netbox' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const request = (await list<BackupRequestItem>(sim, 'backup-requests')).data.find((item) => item.id === requestId);

    // Assess
    expect(request?.started).not.toBeNull();
    expect(request?.completed).toBeNull();
    expect((await list<BackupItem>(sim, 'backups')).data).toHaveLength(0);
  });

  test('rejects an unknown instance with 404 and a missing field with 400 naming it', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const unknown = await call(sim, 'POST', 'backup-requests', { body: { obj_id: 'nb-doesnotexist', obj_type: 'netbox' } });
    const missing = await call(sim, 'POST', 'backup-requests', { body: { obj_type: 'netbox' } });
    const malformed = await call(sim, 'POST', 'backup-requests', { body: '{"obj_id":' });

    // Assess
    expect(unknown.status).toBe(404);
    expectErrorBody(await json<ErrorBody>(unknown));
    expect(missing.status).toBe(400);
    expect((await json<ErrorBody>(missing)).error_message).toContain('obj_id');
    expect(malformed.status).toBe(400);
    expectErrorBody(await json<ErrorBody>(malformed));
  });
});

describe('NetBox Cloud simulator: retrievals and downloads', () => {
  test('publishes the presigned URL on completion and serves bytes identical to backupBytes', async () => {
    // Prepare
    const sim = await startSimulator();
    const backup = firstBackup(sim);

    // Act
    const retrievalId = await create(sim, 'backup-retrieved', { backup_id: backup.id });
    const pending = (await list<RetrievalItem>(sim, 'backup-retrieved')).data.find((item) => item.id === retrievalId);
    const completed = await completedRetrievalById(sim, retrievalId);
    const download = await fetch(completed.presigned_url ?? '');
    const body = Buffer.from(await download.arrayBuffer());

    // Assess
    expect(pending).toMatchObject({ backup_id: backup.id, presigned_url: null, completed: null, expires: null });
    expect(completed.backup_version).toBe(backup.obj_version);
    expect(Date.parse(completed.expires ?? '')).toBeGreaterThan(Date.now());
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/octet-stream');
    expect(Number(download.headers.get('content-length'))).toBe(backup.size_bytes);
    expect(body.equals(sim.backupBytes(backup.id))).toBe(true);
  });

  test('answers 403 for an expired presigned URL and for a wrong signature', async () => {
    // Prepare
    const sim = await startSimulator();
    const retrieval = await completedRetrieval(sim, firstBackup(sim).id);
    const tampered = new URL(retrieval.presigned_url ?? '');
    tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64));

    // Act
    const wrongSignature = await fetch(tampered);
    sim.expireRetrievals();
    const expired = await fetch(retrieval.presigned_url ?? '');

    // Assess
    expect(wrongSignature.status).toBe(403);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('<Code>AccessDenied</Code>');
  });

  test('closes the connection after the configured number of bytes with disconnectDownloadAfter', async () => {
    // Prepare
    const sim = await startSimulator();
    const retrieval = await completedRetrieval(sim, firstBackup(sim).id);
    sim.disconnectDownloadAfter(50_000);

    // Act
    const interrupted = await fetch(retrieval.presigned_url ?? '');
    const interruptedBody = interrupted.arrayBuffer();
    const retried = await fetch(retrieval.presigned_url ?? '');

    // Assess
    expect(interrupted.status).toBe(200);
    await expect(interruptedBody).rejects.toThrow();
    expect(Buffer.from(await retried.arrayBuffer()).length).toBe(200_000);
  });

  test('serves a longer body with extra-bytes and different content of the same length with flipped-byte', async () => {
    // Prepare
    const sim = await startSimulator();
    const backup = firstBackup(sim);
    const retrieval = await completedRetrieval(sim, backup.id);
    const original = sim.backupBytes(backup.id);

    // Act
    sim.corruptNextDownload('extra-bytes');
    const longer = Buffer.from(await (await fetch(retrieval.presigned_url ?? '')).arrayBuffer());
    sim.corruptNextDownload('flipped-byte');
    const flipped = Buffer.from(await (await fetch(retrieval.presigned_url ?? '')).arrayBuffer());

    // Assess
    expect(longer.length).toBeGreaterThan(original.length);
    expect(longer.subarray(0, original.length).equals(original)).toBe(true);
    expect(flipped.length).toBe(original.length);
    expect(flipped.equals(original)).toBe(false);
  });

  test('serves a byte range with 206 when asked', async () => {
    // Prepare
    const sim = await startSimulator();
    const backup = firstBackup(sim);
    const retrieval = await completedRetrieval(sim, backup.id);

    // Act
    const response = await fetch(retrieval.presigned_url ?? '', { headers: { Range: 'bytes=100003-150000' } });
    const body = Buffer.from(await response.arrayBuffer());

    // Assess
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 100003-150000/${backup.size_bytes}`);
    expect(body.equals(sim.backupBytes(backup.id).subarray(100_003, 150_001))).toBe(true);
  });
});

describe('NetBox Cloud simulator: restores', () => {
  test('answers 422 with an error body when the target version is not available', async () => {
    // Prepare
    const sim = await startSimulator();
    const retrieval = await completedRetrieval(sim, firstBackup(sim).id);
    sim.setVersionAvailable('nb-b23ff000888', false);

    // Act
    const response = await call(sim, 'POST', 'backup-restore', { body: { retrieval_id: retrieval.id, target_nb_id: 'nb-b23ff000888' } });

    // Assess
    expect(response.status).toBe(422);
    const body = await json<ErrorBody>(response);
    expectErrorBody(body);
    expect(body.error_message).toMatch(/version is not available/i);
    expect(sim.listRestoreJobs()).toHaveLength(0);
  });

  test('progresses a restore job through started, completed and nb_redeployed', async () => {
    // Prepare
    const sim = await startSimulator();
    const retrieval = await completedRetrieval(sim, firstBackup(sim).id);

    // Act
    const jobId = await create(sim, 'backup-restore', { retrieval_id: retrieval.id, target_nb_id: 'nb-b23ff000888' });
    const fresh = (await list<RestoreJobItem>(sim, 'backup-restore')).data.find((job) => job.id === jobId);
    const redeployed = await eventually(async () => (await list<RestoreJobItem>(sim, 'backup-restore', { target_nb_id: 'nb-b23ff000888' })).data.find((job) => job.id === jobId && job.nb_redeployed !== null));
    const otherTarget = await list<RestoreJobItem>(sim, 'backup-restore', { target_nb_id: 'nb-a12ff000777' });

    // Assess
    expect(fresh).toMatchObject({ retrieval_id: retrieval.id, target_nb_id: 'nb-b23ff000888', completed: null, failed: null, nb_redeployed: null });
    expect(redeployed.failed).toBeNull();
    expect(Date.parse(redeployed.started ?? '')).toBeLessThanOrEqual(Date.parse(redeployed.completed ?? ''));
    expect(Date.parse(redeployed.completed ?? '')).toBeLessThanOrEqual(Date.parse(redeployed.nb_redeployed ?? ''));
    expect(otherTarget.data).toHaveLength(0);
  });

  test('marks the job failed, never completed, when the outcome is set to failed', async () => {
    // Prepare
    const sim = await startSimulator();
    const retrieval = await completedRetrieval(sim, firstBackup(sim).id);
    sim.setRestoreOutcome('nb-a12ff000777', 'failed');

    // Act
    const jobId = await create(sim, 'backup-restore', { retrieval_id: retrieval.id, target_nb_id: 'nb-a12ff000777' });
    const failed = await eventually(async () => (await list<RestoreJobItem>(sim, 'backup-restore')).data.find((job) => job.id === jobId && job.failed !== null));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const later = (await list<RestoreJobItem>(sim, 'backup-restore')).data.find((job) => job.id === jobId);

    // Assess
    expect(failed.completed).toBeNull();
    expect(later).toMatchObject({ completed: null, nb_redeployed: null, failed: failed.failed });
  });

  test('refuses a restore from a retrieval that has not completed', async () => {
    // Prepare
    const sim = await startSimulator({ retrievalDurationMs: 60_000 });
    const retrievalId = await create(sim, 'backup-retrieved', { backup_id: firstBackup(sim).id });

    // Act
    const response = await call(sim, 'POST', 'backup-restore', { body: { retrieval_id: retrievalId, target_nb_id: 'nb-a12ff000777' } });

    // Assess
    expect(response.status).toBe(409);
    expectErrorBody(await json<ErrorBody>(response));
  });
});

describe('NetBox Cloud simulator: fault injection', () => {
  test('answers with the injected 429 and Retry-After once, then normally', async () => {
    // Prepare
    const sim = await startSimulator();
    sim.failNext({ method: 'POST', pathIncludes: '/backup-requests/' }, 429, { headers: { 'Retry-After': '7' } });

    // Act
    const limited = await call(sim, 'POST', 'backup-requests', { body: { obj_id: 'nb-a12ff000777', obj_type: 'netbox' } });
    const accepted = await call(sim, 'POST', 'backup-requests', { body: { obj_id: 'nb-a12ff000777', obj_type: 'netbox' } });

    // Assess
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expectErrorBody(await json<ErrorBody>(limited));
    expect(accepted.status).toBe(201);
    expect(sim.listBackupRequests()).toHaveLength(1);
  });

  test('fires an injected fault the given number of times, only for the matching method', async () => {
    // Prepare
    const sim = await startSimulator();
    sim.failNext({ method: 'GET', pathIncludes: '/backup-requests/' }, 503, { times: 2 });

    // Act
    const post = await call(sim, 'POST', 'backup-requests', { body: { obj_id: 'nb-a12ff000777', obj_type: 'netbox' } });
    const statuses = [];
    for (let attempt = 0; attempt < 3; attempt++) statuses.push((await call(sim, 'GET', 'backup-requests')).status);

    // Assess
    expect(post.status).toBe(201);
    expect(statuses).toEqual([503, 503, 200]);
  });

  test('a gateway 502 after handling answers an HTML page, yet the restore job is created', async () => {
    // Prepare
    const sim = await startSimulator();
    const retrieval = await completedRetrieval(sim, firstBackup(sim).id);
    sim.failNext({ method: 'POST', pathIncludes: '/backup-restore/' }, 502, { html: GATEWAY_502_HTML, afterHandling: true });

    // Act
    const response = await call(sim, 'POST', 'backup-restore', { body: { retrieval_id: retrieval.id, target_nb_id: 'nb-b23ff000888' } });

    // Assess
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toBe(GATEWAY_502_HTML);
    expect(sim.listRestoreJobs()).toEqual([expect.objectContaining({ retrieval_id: retrieval.id, target_nb_id: 'nb-b23ff000888' })]);
  });

  test('a dropped connection after handling sends no answer, yet the backup request is created', async () => {
    // Prepare
    const sim = await startSimulator();
    sim.failNext({ method: 'POST', pathIncludes: '/backup-requests/' }, 0, { afterHandling: true, dropConnection: true });

    // Act
    const answer = call(sim, 'POST', 'backup-requests', { body: { obj_id: 'nb-a12ff000777', obj_type: 'netbox' } });

    // Assess
    await expect(answer).rejects.toThrow('fetch failed');
    expect(sim.listBackupRequests()).toHaveLength(1);
  });

  test('repeatFirstPage answers page 1 for every page while claiming more pages', async () => {
    // Prepare
    const sim = await startSimulator();
    sim.repeatFirstPage('/backups/');

    // Act
    const first = await list<BackupItem>(sim, 'backups', { page_size: '2' });
    const second = await list<BackupItem>(sim, 'backups', { page_size: '2', page: '2' });

    // Assess
    expect(second.data).toEqual(first.data);
    expect(second.metadata.pagination).toMatchObject({ current_page: 2, total_pages: 1_000_000, last_page: false });
    expect(first.metadata.pagination).toMatchObject({ current_page: 1, last_page: false });
  });
});

import { createHash } from 'node:crypto';
import { connect } from 'node:tls';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Agent, fetch, type Response } from 'undici';
import {
  APPLIANCE_API_PATH,
  startApplianceSimulator,
  type ApplianceSimulator,
  type ApplianceSimulatorOptions,
  type SimulatedBackup,
} from '../../../bin/sandbox/appliance';

type Backup = Omit<SimulatedBackup, 'uploaded'>;

interface RestoreStatus {
  status: string;
  last_restore_time: number;
  status_message: string;
}

interface ErrorBody {
  error_id: string;
  error_text: string;
}

const FAST: ApplianceSimulatorOptions = {
  backupDurationMs: 200,
  backupSizeBytes: 20_000,
  rebootWindowMs: 300,
};

let simulator: ApplianceSimulator | undefined;
let agent: Agent | undefined;

async function startSimulator(options: ApplianceSimulatorOptions = {}): Promise<ApplianceSimulator> {
  simulator = await startApplianceSimulator({ ...FAST, ...options });
  agent = new Agent({ connect: { ca: simulator.caPem } });
  return simulator;
}

afterEach(async () => {
  await agent?.destroy();
  await simulator?.stop();
  agent = undefined;
  simulator = undefined;
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function basic(sim: ApplianceSimulator, password = sim.password): string {
  return `Basic ${Buffer.from(`${sim.username}:${password}`).toString('base64')}`;
}

interface CallOptions {
  method?: string;
  authorization?: string | null;
  json?: unknown;
  body?: Buffer | AsyncIterable<Uint8Array>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A call to the appliance; `path` is relative to the backup API unless it starts with /api/. */
function call(sim: ApplianceSimulator, path: string, options: CallOptions = {}): Promise<Response> {
  const fullPath = path.startsWith('/api/') ? path : `${APPLIANCE_API_PATH}/${path}`;
  const authorization = options.authorization === undefined ? basic(sim) : options.authorization;
  const streamed = options.body !== undefined && !Buffer.isBuffer(options.body);
  return fetch(`${sim.url}${fullPath}`, {
    method: options.method ?? 'GET',
    dispatcher: agent,
    headers: {
      ...(authorization === null ? {} : { Authorization: authorization }),
      ...(options.json === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...options.headers,
    },
    body: options.json === undefined ? options.body : JSON.stringify(options.json),
    ...(streamed ? { duplex: 'half' as const } : {}),
    signal: options.signal,
  });
}

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function passwordToken(sim: ApplianceSimulator, version: '1.0' | '2.0' = '1.0', password = sim.password): Promise<Response> {
  return call(sim, `/api/mgmt.aaa/${version}/token`, {
    method: 'POST',
    authorization: null,
    json: { user_credentials: { username: sim.username, password }, generate_refresh_token: false },
  });
}

async function bearer(sim: ApplianceSimulator): Promise<string> {
  const response = await passwordToken(sim);
  expect(response.status).toBe(201);
  return `Bearer ${(await json<{ access_token: string }>(response)).access_token}`;
}

async function createBackup(sim: ApplianceSimulator, description = 'offsite test'): Promise<Backup> {
  const response = await call(sim, 'backups', { method: 'POST', json: { description } });
  expect(response.status).toBe(201);
  return json<Backup>(response);
}

async function getBackup(sim: ApplianceSimulator, id: string): Promise<Backup> {
  const response = await call(sim, `backups/items/${id}`);
  expect(response.status).toBe(200);
  return json<Backup>(response);
}

async function restoreStatus(sim: ApplianceSimulator): Promise<RestoreStatus> {
  const response = await call(sim, 'restore_status');
  expect(response.status).toBe(200);
  return json<RestoreStatus>(response);
}

async function waitUntilReachable(sim: ApplianceSimulator, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await call(sim, 'restore_status');
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // unreachable: still rebooting
    }
    if (Date.now() > deadline) throw new Error('appliance did not come back');
    await sleep(25);
  }
}

function firstLine(gzipped: Buffer): Record<string, unknown> {
  const content = gunzipSync(gzipped);
  const newline = content.indexOf(0x0a);
  return JSON.parse(content.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ?? (error as Error).name;
  }
}

describe('TLS', () => {
  test('a client that trusts caPem connects over HTTPS to 127.0.0.1', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const response = await call(sim, 'backups');

    // Assess
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.caPem).toContain('BEGIN CERTIFICATE');
    expect(response.status).toBe(200);
  });

  test('a client that does not trust caPem fails certificate verification', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const code = await errorCode(fetch(`${sim.url}${APPLIANCE_API_PATH}/backups`));

    // Assess
    expect(code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test('tls: false serves plain HTTP and has no CA', async () => {
    // Prepare
    const sim = await startSimulator({ tls: false });

    // Act
    const response = await call(sim, 'backups');

    // Assess
    expect(sim.url).toMatch(/^http:\/\//);
    expect(sim.caPem).toBeUndefined();
    expect(response.status).toBe(200);
  });
});

describe('authentication', () => {
  test.each(['1.0', '2.0'] as const)('mgmt.aaa %s token endpoint issues a bearer token that works', async (version) => {
    // Prepare
    const sim = await startSimulator({ tokenTtlSeconds: 600 });

    // Act
    const response = await passwordToken(sim, version);
    const body = await json<{ access_token: string; token_type: string; expires_at: number }>(response);
    const list = await call(sim, 'backups', { authorization: `Bearer ${body.access_token}` });

    // Assess
    expect(response.status).toBe(201);
    expect(body.token_type).toBe('bearer');
    expect(Number.isInteger(body.expires_at)).toBe(true);
    expect(Math.abs(body.expires_at - (Date.now() / 1000 + 600))).toBeLessThan(3);
    expect(list.status).toBe(200);
    expect(sim.tokensIssued).toBe(1);
    expect(sim.requests.at(-1)).toEqual({ method: 'GET', path: `${APPLIANCE_API_PATH}/backups`, auth: 'token', status: 200 });
  });

  test('a wrong password is refused with 401 AUTH_INVALID_CREDENTIALS', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const response = await passwordToken(sim, '1.0', 'wrong-password');

    // Assess
    expect(response.status).toBe(401);
    expect((await json<ErrorBody>(response)).error_id).toBe('AUTH_INVALID_CREDENTIALS');
    expect(sim.tokensIssued).toBe(0);
  });

  test('Basic authentication works and wrong Basic credentials are 401', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const good = await call(sim, 'backups', { authorization: basic(sim) });
    const bad = await call(sim, 'backups', { authorization: basic(sim, 'nope') });

    // Assess
    expect(good.status).toBe(200);
    expect(bad.status).toBe(401);
    expect(sim.requests.map((request) => request.auth)).toEqual(['basic', 'invalid']);
  });

  test('a call without credentials is 401 with a Riverbed error body', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const response = await call(sim, 'backups', { authorization: null });
    const body = await json<ErrorBody>(response);

    // Assess
    expect(response.status).toBe(401);
    expect(body.error_id).toBe('AUTH_INVALID_CREDENTIALS');
    expect(typeof body.error_text).toBe('string');
    expect(sim.requests).toEqual([{ method: 'GET', path: `${APPLIANCE_API_PATH}/backups`, auth: 'none', status: 401 }]);
  });

  test('OAuth access_code grant issues a bearer token that works', async () => {
    // Prepare
    const sim = await startSimulator({ tokenTtlSeconds: 300 });

    // Act
    const response = await call(sim, '/api/common/1.0/oauth/token', {
      method: 'POST',
      authorization: null,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(new URLSearchParams({ grant_type: 'access_code', assertion: sim.oauthAccessCode }).toString()),
    });
    const body = await json<{ access_token: string; token_type: string; expires_in: number }>(response);
    const list = await call(sim, 'backups', { authorization: `Bearer ${body.access_token}` });

    // Assess
    expect(response.status).toBe(200);
    expect(body.token_type).toBe('bearer');
    expect(body.expires_in).toBe(300);
    expect(list.status).toBe(200);
  });

  test('OAuth with a wrong access code is 400 invalid_grant', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const response = await call(sim, '/api/common/1.0/oauth/token', {
      method: 'POST',
      authorization: null,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: Buffer.from('grant_type=access_code&assertion=not-the-code'),
    });

    // Assess
    expect(response.status).toBe(400);
    expect((await json<{ error: string }>(response)).error).toBe('invalid_grant');
  });

  test('a token is 401 once its lifetime has passed', async () => {
    // Prepare
    const sim = await startSimulator({ tokenTtlSeconds: 0.15 });
    const token = await bearer(sim);
    const before = await call(sim, 'backups', { authorization: token });

    // Act
    await sleep(200);
    const after = await call(sim, 'backups', { authorization: token });

    // Assess
    expect(before.status).toBe(200);
    expect(after.status).toBe(401);
    expect(sim.requests.at(-1)?.auth).toBe('invalid');
  });

  test('expireTokens() makes every issued token 401', async () => {
    // Prepare
    const sim = await startSimulator();
    const token = await bearer(sim);

    // Act
    sim.expireTokens();
    const response = await call(sim, 'backups', { authorization: token });

    // Assess
    expect(response.status).toBe(401);
    expect((await json<ErrorBody>(response)).error_id).toBe('AUTH_INVALID_CREDENTIALS');
  });

  test('the request log never holds credentials or tokens', async () => {
    // Prepare
    const sim = await startSimulator();
    const token = await bearer(sim);

    // Act
    await call(sim, 'backups', { authorization: token });
    await call(sim, 'backups', { authorization: basic(sim) });

    // Assess
    const log = JSON.stringify(sim.requests);
    expect(log).not.toContain(sim.password);
    expect(log).not.toContain(token.slice('Bearer '.length));
    expect(log).not.toContain(Buffer.from(`${sim.username}:${sim.password}`).toString('base64'));
  });
});

describe('info', () => {
  test('GET /api/common/1.0/info describes the appliance', async () => {
    // Prepare
    const sim = await startSimulator({ info: { hostname: 'ar-east', serial: 'VE0001' } });

    // Act
    const response = await call(sim, '/api/common/1.0/info');

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ device_name: 'ar-east', model: 'SCAN-AR-VE', serial: 'VE0001', sw_version: '11.12.0', hw_version: '' });
  });

  test('infoEndpoint: false makes the info resource 404', async () => {
    // Prepare
    const sim = await startSimulator({ infoEndpoint: false });

    // Act
    const response = await call(sim, '/api/common/1.0/info');

    // Assess
    expect(response.status).toBe(404);
    expect((await json<ErrorBody>(response)).error_id).toBe('RESOURCE_NOT_FOUND');
  });

  test('setSwVersion changes info and the version of new backups', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    sim.setSwVersion('11.13.1');
    const info = await json<{ sw_version: string }>(await call(sim, '/api/common/1.0/info'));
    const backup = await createBackup(sim);

    // Assess
    expect(info.sw_version).toBe('11.13.1');
    expect(backup.sw_version).toBe('11.13.1');
    expect(sim.info.sw_version).toBe('11.13.1');
  });
});

describe('backups', () => {
  test('create answers 201 with a started backup carrying the appliance identity', async () => {
    // Prepare
    const sim = await startSimulator();
    const before = Math.floor(Date.now() / 1000);

    // Act
    const backup = await createBackup(sim, 'before upgrade');

    // Assess
    expect(backup).toMatchObject({
      description: 'before upgrade',
      hostname: sim.info.hostname,
      model: sim.info.model,
      serial: sim.info.serial,
      sw_version: sim.info.sw_version,
      status: 'started',
      size: 0,
    });
    expect(backup.backup_time).toBeGreaterThanOrEqual(before);
    expect(backup.backup_time).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  });

  test('a backup moves started → uploading → completed and then has a size', async () => {
    // Prepare
    const sim = await startSimulator({ backupDurationMs: 300 });
    const { id } = await createBackup(sim);

    // Act
    const early = await getBackup(sim, id);
    await sleep(150);
    const middle = await getBackup(sim, id);
    await sleep(200);
    const done = await getBackup(sim, id);

    // Assess
    expect(early.status).toBe('started');
    expect(middle.status).toBe('uploading');
    expect(middle.size).toBe(0);
    expect(done.status).toBe('completed');
    expect(done.size).toBe(sim.backupBytes(id).length);
    expect(done.size).toBeGreaterThan(20_000);
  });

  test('the list shows every backup under items', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1 });
    const created = await createBackup(sim);

    // Act
    const list = await json<{ items: Backup[] }>(await call(sim, 'backups'));

    // Assess
    expect(list.items.map((item) => item.id).sort()).toEqual(sim.backups().map((item) => item.id).sort());
    expect(list.items.map((item) => item.id)).toContain(created.id);
    expect(list.items.find((item) => item.id !== created.id)).toMatchObject({ description: 'nightly (appliance scheduler)', status: 'completed' });
  });

  test('download is a gzip file whose first line is the metadata and whose length is the size', async () => {
    // Prepare
    const sim = await startSimulator();
    const { id } = await createBackup(sim);
    await sleep(250);
    const backup = await getBackup(sim, id);

    // Act
    const response = await call(sim, `backups/items/${id}/file`);
    const bytes = Buffer.from(await response.arrayBuffer());

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-gzip');
    expect(Number(response.headers.get('content-length'))).toBe(backup.size);
    expect(bytes.length).toBe(backup.size);
    expect(bytes.equals(sim.backupBytes(id))).toBe(true);
    expect(firstLine(bytes)).toEqual({
      hostname: backup.hostname,
      model: backup.model,
      serial: backup.serial,
      sw_version: backup.sw_version,
      backup_time: backup.backup_time,
      id,
    });
  });

  test('a second backup cannot be created while one is running', async () => {
    // Prepare
    const sim = await startSimulator();
    const running = await createBackup(sim);

    // Act
    const response = await call(sim, 'backups', { method: 'POST', json: { description: 'second' } });
    const body = await json<ErrorBody>(response);

    // Assess
    expect(response.status).toBe(409);
    expect(body.error_id).toBe('BACKUP_IN_PROGRESS');
    expect(body.error_text).toContain(running.id);
  });

  test('a backup that is still running cannot be downloaded', async () => {
    // Prepare
    const sim = await startSimulator();
    const { id } = await createBackup(sim);

    // Act
    const response = await call(sim, `backups/items/${id}/file`);

    // Assess
    expect(response.status).toBe(409);
    expect((await json<ErrorBody>(response)).error_id).toBe('BACKUP_NOT_COMPLETED');
  });

  test('create is refused with INSUFFICIENT_SPACE naming the limit when the disk is full', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 2, storageLimit: 2 });

    // Act
    const response = await call(sim, 'backups', { method: 'POST', json: { description: 'one too many' } });
    const body = await json<ErrorBody>(response);

    // Assess
    expect(response.status).toBe(400);
    expect(body.error_id).toBe('INSUFFICIENT_SPACE');
    expect(body.error_text).toBe('Not enough disk space for a new backup: the appliance holds at most 2 backups. Delete a backup first.');
    expect(sim.backups()).toHaveLength(2);
  });

  test('failNextBackup makes the next backup go from started to failed with that message', async () => {
    // Prepare
    const sim = await startSimulator();
    sim.failNextBackup('Backup failed: disk I/O error');
    const { id } = await createBackup(sim);

    // Act
    const early = await getBackup(sim, id);
    await sleep(250);
    const late = await getBackup(sim, id);

    // Assess
    expect(early.status).toBe('started');
    expect(late).toMatchObject({ status: 'failed', status_message: 'Backup failed: disk I/O error', size: 0 });
  });

  test('delete answers 204 and the backup is gone', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1 });
    const [seed] = sim.backups();

    // Act
    const response = await call(sim, `backups/items/${seed?.id}`, { method: 'DELETE' });
    const after = await call(sim, `backups/items/${seed?.id}`);

    // Assess
    expect(response.status).toBe(204);
    expect(after.status).toBe(404);
    expect((await json<ErrorBody>(after)).error_id).toBe('RESOURCE_NOT_FOUND');
    expect(sim.backups()).toEqual([]);
  });

  test('deleteAllBackups() empties the list', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 2 });

    // Act
    sim.deleteAllBackups();
    const list = await json<{ items: Backup[] }>(await call(sim, 'backups'));

    // Assess
    expect(list.items).toEqual([]);
  });

  test('unknown paths are 404 and wrong methods 405', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    const unknown = await call(sim, 'backups/nothing-here');
    const wrongMethod = await call(sim, 'restore_status', { method: 'DELETE' });

    // Assess
    expect(unknown.status).toBe(404);
    expect((await json<ErrorBody>(unknown)).error_id).toBe('RESOURCE_NOT_FOUND');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });
});

describe('upload', () => {
  test('an uploaded file becomes a new completed backup with the file metadata and bytes', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, storageLimit: 2 });
    const [seed] = sim.backups();
    const file = sim.backupBytes(seed?.id ?? '');

    // Act
    const response = await call(sim, 'backups/upload', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: file });
    const uploaded = await json<Backup>(response);

    // Assess
    expect(response.status).toBe(201);
    expect(uploaded.id).not.toBe(seed?.id);
    expect(uploaded).toMatchObject({
      description: 'uploaded',
      status: 'completed',
      size: file.length,
      hostname: seed?.hostname,
      serial: seed?.serial,
      sw_version: seed?.sw_version,
      backup_time: seed?.backup_time,
    });
    expect(sim.backupBytes(uploaded.id).equals(file)).toBe(true);
    expect(sim.backups().find((backup) => backup.id === uploaded.id)?.uploaded).toBe(true);
  });

  test('a chunked upload body is read fully', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1 });
    const [seed] = sim.backups();
    const file = sim.backupBytes(seed?.id ?? '');
    async function* chunks(): AsyncIterable<Uint8Array> {
      for (let offset = 0; offset < file.length; offset += 4096) yield file.subarray(offset, offset + 4096);
    }

    // Act
    const response = await call(sim, 'backups/upload', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: chunks() });
    const uploaded = await json<Backup>(response);

    // Assess
    expect(response.status).toBe(201);
    expect(sha256(sim.backupBytes(uploaded.id))).toBe(sha256(file));
  });

  test('an upload without application/octet-stream is 415', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1 });
    const [seed] = sim.backups();

    // Act
    const response = await call(sim, 'backups/upload', { method: 'POST', headers: { 'Content-Type': 'application/gzip' }, body: sim.backupBytes(seed?.id ?? '') });

    // Assess
    expect(response.status).toBe(415);
    expect(sim.backups()).toHaveLength(1);
  });

  test('an upload that is not a backup file is 400 INVALID_BACKUP_FILE', async () => {
    // Prepare
    const sim = await startSimulator();
    const notABackup = gzipSync(Buffer.from('just some text\nmore text\n'));

    // Act
    const response = await call(sim, 'backups/upload', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: notABackup });

    // Assess
    expect(response.status).toBe(400);
    expect((await json<ErrorBody>(response)).error_id).toBe('INVALID_BACKUP_FILE');
    expect(sim.backups()).toEqual([]);
  });

  test('an upload onto a full disk is 400 INSUFFICIENT_SPACE', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, storageLimit: 1 });
    const [seed] = sim.backups();

    // Act
    const response = await call(sim, 'backups/upload', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: sim.backupBytes(seed?.id ?? '') });
    const body = await json<ErrorBody>(response);

    // Assess
    expect(response.status).toBe(400);
    expect(body.error_id).toBe('INSUFFICIENT_SPACE');
    expect(body.error_text).toContain('at most 1 backup.');
  });

  test('with uploadProcessingMs the upload answers uploading with size 0, and the backup is completed once that time has passed', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, uploadProcessingMs: 2000 });
    const [seed] = sim.backups();
    const file = sim.backupBytes(seed?.id ?? '');

    // Act
    const response = await call(sim, 'backups/upload', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: file });
    const answered = await json<Backup>(response);
    const meanwhile = await getBackup(sim, answered.id);
    await sleep(2100);
    const later = await getBackup(sim, answered.id);

    // Assess
    expect(response.status).toBe(201);
    expect(answered).toMatchObject({ status: 'uploading', size: 0 });
    expect(meanwhile).toMatchObject({ status: 'uploading', size: 0 });
    expect(later).toMatchObject({ status: 'completed', size: file.length });
    expect(sim.backupBytes(answered.id).equals(file)).toBe(true);
  });

  test('resetNextUpload resets the connection part-way and keeps a failed backup of what arrived', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, storageLimit: 3 });
    const [seed] = sim.backups();
    const file = sim.backupBytes(seed?.id ?? '');
    sim.resetNextUpload(4096);
    async function* chunks(): AsyncIterable<Uint8Array> {
      for (let offset = 0; offset < file.length; offset += 1024) {
        yield file.subarray(offset, offset + 1024);
        await sleep(1);
      }
    }

    // Act
    const cutOff = await errorCode(call(sim, 'backups/upload', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: chunks() }));
    const next = await call(sim, 'backups/upload', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: file });

    // Assess
    expect(cutOff).toBeDefined();
    const left = sim.backups().filter((backup) => backup.id !== seed?.id);
    expect(left).toHaveLength(2);
    expect(left.filter((backup) => backup.status === 'failed')).toEqual([
      expect.objectContaining({ uploaded: true, size: 0, status_message: expect.stringContaining('Upload interrupted after') }),
    ]);
    expect(next.status).toBe(201);
  });
});

describe('restore', () => {
  test('restore_status before any restore is not_run, or the configured previous restore', async () => {
    // Prepare
    const fresh = await startApplianceSimulator({ ...FAST, tls: false });
    const restored = await startApplianceSimulator({ ...FAST, tls: false, previousRestore: { status: 'completed', last_restore_time: 1_700_000_000 } });

    try {
      // Act
      const freshStatus = await (await fetch(`${fresh.url}${APPLIANCE_API_PATH}/restore_status`, { headers: { Authorization: basic(fresh) } })).json();
      const restoredStatus = await (await fetch(`${restored.url}${APPLIANCE_API_PATH}/restore_status`, { headers: { Authorization: basic(restored) } })).json();

      // Assess
      expect(freshStatus).toEqual({ status: 'not_run', last_restore_time: 0, status_message: '' });
      expect(restoredStatus).toEqual({ status: 'completed', last_restore_time: 1_700_000_000, status_message: '' });
    } finally {
      await fresh.stop();
      await restored.stop();
    }
  });

  test('restore answers started, makes the API unreachable (reset) for the window, then reports completed', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, rebootWindowMs: 300 });
    const [seed] = sim.backups();
    const start = Math.floor(Date.now() / 1000);

    // Act
    const response = await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' });
    const started = await json<RestoreStatus>(response);
    const duringReboot = await errorCode(call(sim, 'restore_status'));
    await sleep(350);
    const after = await restoreStatus(sim);

    // Assess
    expect(response.status).toBe(202);
    expect(started).toMatchObject({ status: 'started', status_message: '' });
    expect(started.last_restore_time).toBeGreaterThanOrEqual(start);
    expect(duringReboot).toBe('ECONNRESET');
    expect(after).toEqual({ status: 'completed', last_restore_time: started.last_restore_time, status_message: '' });
    expect(after.last_restore_time).toBeGreaterThanOrEqual(start);
    expect(sim.restores).toEqual([{ backupId: seed?.id, sha256: sha256(sim.backupBytes(seed?.id ?? '')), startedAt: started.last_restore_time }]);
  });

  test('the appliance comes back once the reboot window has passed', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, rebootWindowMs: 250 });
    const [seed] = sim.backups();

    // Act
    const began = Date.now();
    await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' });
    await waitUntilReachable(sim);
    const downFor = Date.now() - began;

    // Assess
    expect(downFor).toBeGreaterThanOrEqual(240);
    expect(downFor).toBeLessThan(1500);
  });

  test('an open keep-alive connection is dropped when the appliance reboots', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1 });
    const [seed] = sim.backups();
    const { port } = new URL(sim.url);
    const socket = connect({ host: '127.0.0.1', port: Number(port), ca: sim.caPem, servername: 'localhost' });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    const firstResponse = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    socket.write(`GET ${APPLIANCE_API_PATH}/restore_status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic(sim)}\r\nConnection: keep-alive\r\n\r\n`);
    expect(await firstResponse).toMatch(/^HTTP\/1\.1 200/);

    // Act
    await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' });

    // Assess
    await expect(Promise.race([closed.then(() => 'closed'), sleep(500).then(() => 'still open')])).resolves.toBe('closed');
  });

  test('tokens issued before the reboot are 401 afterwards', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, rebootWindowMs: 100 });
    const [seed] = sim.backups();
    const token = await bearer(sim);

    // Act
    await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST', authorization: token });
    await sleep(150);
    const stale = await call(sim, 'restore_status', { authorization: token });
    const fresh = await call(sim, 'restore_status', { authorization: await bearer(sim) });

    // Assess
    expect(stale.status).toBe(401);
    expect(fresh.status).toBe(200);
  });

  test('setRestoreOutcome(completed_with_errors) is reported after the reboot with a default message', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, rebootWindowMs: 100 });
    const [seed] = sim.backups();
    sim.setRestoreOutcome('completed_with_errors');

    // Act
    await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' });
    await sleep(150);
    const status = await restoreStatus(sim);

    // Assess
    expect(status.status).toBe('completed_with_errors');
    expect(status.status_message).toBe('Restore completed with errors: 2 configuration items could not be applied');
  });

  test('setRestoreOutcome(failed, message) reports that message', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, rebootWindowMs: 100 });
    const [seed] = sim.backups();
    sim.setRestoreOutcome('failed', 'Restore failed: incompatible software version');

    // Act
    await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' });
    await sleep(150);
    const status = await restoreStatus(sim);

    // Assess
    expect(status).toMatchObject({ status: 'failed', status_message: 'Restore failed: incompatible software version' });
  });

  test('stale reads report the previous restore before the new outcome shows', async () => {
    // Prepare
    const previous = { status: 'failed' as const, last_restore_time: 1_700_000_000, status_message: 'old failure' };
    const sim = await startSimulator({ seedBackups: 1, rebootWindowMs: 100, previousRestore: previous });
    const [seed] = sim.backups();
    sim.setStaleRestoreStatusReads(2);

    // Act
    await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' });
    await sleep(150);
    const reads = [await restoreStatus(sim), await restoreStatus(sim), await restoreStatus(sim), await restoreStatus(sim)];

    // Assess
    expect(reads[0]).toEqual(previous);
    expect(reads[1]).toEqual(previous);
    expect(reads[2]).toMatchObject({ status: 'completed', last_restore_time: sim.restores[0]?.startedAt });
    expect(reads[3]).toEqual(reads[2]);
  });

  test('rebootBehaviour 503 answers an HTML 503 during the window', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, rebootWindowMs: 200, rebootBehaviour: '503' });
    const [seed] = sim.backups();

    // Act
    await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' });
    const during = await call(sim, 'restore_status');
    const page = await during.text();
    await sleep(250);
    const after = await call(sim, 'restore_status');

    // Assess
    expect(during.status).toBe(503);
    expect(during.headers.get('content-type')).toContain('text/html');
    expect(page).toContain('Service Unavailable');
    expect(after.status).toBe(200);
    expect(sim.requests.map((request) => request.status)).toEqual([202, 503, 200]);
  });

  test('rebootBehaviour hang accepts connections and never answers during the window', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, rebootWindowMs: 300, rebootBehaviour: 'hang' });
    const [seed] = sim.backups();

    // Act
    await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' });
    const code = await errorCode(call(sim, 'restore_status', { signal: AbortSignal.timeout(150) }));

    // Assess
    expect(code).toBe('TimeoutError');
  });

  test('pinRestoreTime makes every restore report that last_restore_time, until unpinned', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 1, rebootWindowMs: 50 });
    const [seed] = sim.backups();
    sim.pinRestoreTime(1_700_000_000);

    // Act
    const first = await json<RestoreStatus>(await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' }));
    await waitUntilReachable(sim);
    const second = await json<RestoreStatus>(await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' }));
    await waitUntilReachable(sim);
    const reported = await restoreStatus(sim);
    sim.pinRestoreTime(undefined);
    const third = await json<RestoreStatus>(await call(sim, `backups/items/${seed?.id}/restore`, { method: 'POST' }));

    // Assess
    expect([first.last_restore_time, second.last_restore_time, reported.last_restore_time]).toEqual([1_700_000_000, 1_700_000_000, 1_700_000_000]);
    expect(third.last_restore_time).toBeGreaterThan(1_700_000_000);
    expect(sim.restores.map((restore) => restore.startedAt)).toEqual([1_700_000_000, 1_700_000_000, third.last_restore_time]);
  });

  test('a backup that is not completed cannot be restored', async () => {
    // Prepare
    const sim = await startSimulator();
    const { id } = await createBackup(sim);

    // Act
    const response = await call(sim, `backups/items/${id}/restore`, { method: 'POST' });

    // Assess
    expect(response.status).toBe(409);
    expect(sim.restores).toEqual([]);
  });

  test('reset_factory wipes the backups and reboots', async () => {
    // Prepare
    const sim = await startSimulator({ seedBackups: 2, rebootWindowMs: 100 });

    // Act
    const response = await call(sim, 'backups/reset_factory', { method: 'POST' });
    const during = await errorCode(call(sim, 'backups'));
    await sleep(150);
    const list = await json<{ items: Backup[] }>(await call(sim, 'backups'));

    // Assess
    expect(response.status).toBe(202);
    expect(during).toBe('ECONNRESET');
    expect(list.items).toEqual([]);
  });
});

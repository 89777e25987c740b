import { InconsistentPagination, NotAuthorized, RateLimited, RestoreInProgress, TransientApiError, VendorApiError } from '../../../functions/shared/errors';
import { ServerNotFound } from '../../../functions/kinds/vps/errors';
import { rateLimitResetSeconds, VpsClient } from '../../../functions/kinds/vps/client';
import { startVpsSimulator, type VpsSimulator } from '../../../bin/sandbox/vps';

describe('VpsClient against the VPS simulator', () => {
  let simulator: VpsSimulator;
  let client: VpsClient;
  const noSleep = async (): Promise<void> => undefined;

  beforeEach(async () => {
    simulator = await startVpsSimulator({ pageSize: 2 });
    client = new VpsClient({ baseUrl: simulator.url, token: simulator.token, timeoutMs: 2000, sleep: noSleep });
  });

  afterEach(async () => {
    await simulator.stop();
  });

  test('lists every backup across pages by following next, with the Bearer token', async () => {
    // Act
    const backups = await client.listBackups();

    // Assess
    expect(backups.map((backup) => backup.id)).toEqual(simulator.listBackups().map((backup) => backup.id));
    expect(backups.length).toBeGreaterThan(2);
    const pages = simulator.requests.filter((request) => request.path === '/api/v1/backups/');
    expect(pages.length).toBe(Math.ceil(backups.length / 2));
    expect(pages.every((request) => request.authorized)).toBe(true);
  });

  test('passes the server_id and backup_type filters', async () => {
    // Act
    const manual = await client.listBackups({ serverId: 12345, backupType: 'manual' });

    // Assess
    expect(simulator.requests[0]?.query).toEqual({ server_id: '12345', backup_type: 'manual' });
    expect(manual.map((backup) => [backup.server?.id, backup.backup_type])).toEqual([[12345, 'manual']]);
  });

  test('a next that loops back is refused as InconsistentPagination', async () => {
    // Prepare
    simulator.nextPageQuirk('loop');

    // Act / Assess
    await expect(client.listBackups()).rejects.toBeInstanceOf(InconsistentPagination);
    expect(simulator.requests.length).toBeLessThanOrEqual(2);
  });

  test('a next on another origin is never followed', async () => {
    // Prepare
    simulator.nextPageQuirk('http://169.254.169.254');

    // Act / Assess
    await expect(client.listBackups()).rejects.toThrow(/not the provider/);
    expect(simulator.requests).toHaveLength(1);
  });

  test('401 is NotAuthorized naming the token, without the token', async () => {
    // Prepare
    const wrong = new VpsClient({ baseUrl: simulator.url, token: 'wrong-token-123', sleep: noSleep });

    // Act
    const error = (await wrong.listBackups().catch((caught: unknown) => caught)) as Error;

    // Assess
    expect(error).toBeInstanceOf(NotAuthorized);
    expect(error.message).toMatch(/API token \(credentials\) was rejected.*Invalid token/);
    expect(error.message).not.toContain('wrong-token-123');
  });

  test('404 on create is ServerNotFound naming the serverId; 400 carries the provider\'s message', async () => {
    // Prepare
    simulator.failNext({ method: 'POST' }, 400, { body: { description: ['Ensure this field has no more than 255 characters.'] } });

    // Act
    const bad = await client.createBackup(12345, 'x').catch((caught: unknown) => caught);
    const missing = await client.createBackup(4242, 'x').catch((caught: unknown) => caught);

    // Assess
    expect(bad).toBeInstanceOf(VendorApiError);
    expect((bad as Error).message).toMatch(/description: Ensure this field has no more than 255 characters/);
    expect(missing).toBeInstanceOf(ServerNotFound);
    expect((missing as Error).message).toMatch(/server 4242 does not exist/);
  });

  test('429 on create is RateLimited (safe to repeat) with RateLimit-Reset as the wait; on a read it is transient', async () => {
    // Prepare
    simulator.failNext({ method: 'POST' }, 429, { headers: { 'RateLimit-Reset': '90' } });
    simulator.failNext({ method: 'GET' }, 429, { headers: { 'Retry-After': '120' } });

    // Act
    const create = await client.createBackup(12345, 'x').catch((caught: unknown) => caught);
    const list = await client.listBackups().catch((caught: unknown) => caught);

    // Assess
    expect(create).toBeInstanceOf(RateLimited);
    expect((create as RateLimited).retryAfterSeconds).toBe(90);
    expect(list).toBeInstanceOf(TransientApiError);
    expect((list as TransientApiError).retryAfterSeconds).toBe(120);
  });

  test('a short RateLimit-Reset is waited out inside the call', async () => {
    // Prepare
    const waits: number[] = [];
    const waiting = new VpsClient({ baseUrl: simulator.url, token: simulator.token, sleep: async (ms) => void waits.push(ms) });
    simulator.failNext({ method: 'GET' }, 429, { headers: { 'RateLimit-Reset': '3' } });

    // Act
    const backups = await waiting.listBackups({ serverId: 12345 });

    // Assess
    expect(backups.length).toBeGreaterThan(0);
    expect(waits).toEqual([3000]);
  });

  test('a RateLimit-Reset given as a Unix time is read as the seconds until then', () => {
    // Act / Assess
    expect(rateLimitResetSeconds('1700000060', 1_700_000_000_000)).toBe(60);
    expect(rateLimitResetSeconds('15')).toBe(15);
    expect(rateLimitResetSeconds('soon')).toBeUndefined();
  });

  test('5xx is transient; a call that gets no answer in time is transient too', async () => {
    // Prepare
    simulator.failNext({ method: 'GET' }, 503);
    const slow = new VpsClient({
      baseUrl: simulator.url,
      token: simulator.token,
      timeoutMs: 50,
      fetch: (_url, init) => new Promise((_resolve, reject) => init.signal.addEventListener('abort', () => reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' })))),
    });

    // Act
    const unavailable = await client.getServer(12345).catch((caught: unknown) => caught);
    const timedOut = await slow.getServer(12345).catch((caught: unknown) => caught);

    // Assess
    expect(unavailable).toBeInstanceOf(TransientApiError);
    expect(timedOut).toBeInstanceOf(TransientApiError);
    expect((timedOut as Error).message).toMatch(/no answer within 50 ms/);
  });

  test('delete answers absent for a backup the provider no longer has; restore 409 is RestoreInProgress', async () => {
    // Prepare
    const [first] = await client.listBackups({ serverId: 12345 });
    simulator.failNext({ method: 'POST', pathIncludes: '/restore/' }, 409, { body: { detail: 'Server is already restoring.' } });

    // Act
    const deleted = await client.deleteBackup(first?.id ?? 0);
    const again = await client.deleteBackup(first?.id ?? 0);
    const restore = await client.restore(12345, 1).catch((caught: unknown) => caught);

    // Assess
    expect([deleted, again]).toEqual(['deleted', 'absent']);
    expect(restore).toBeInstanceOf(RestoreInProgress);
  });

  test('reads the server and its status', async () => {
    // Act
    const server = await client.getServer(12345);

    // Assess
    expect(server).toEqual({ id: 12345, status: 'running', message: null });
  });
});

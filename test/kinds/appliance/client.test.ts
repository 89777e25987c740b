import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { applianceAuthenticator, type ApplianceLogin, type TokenCache } from '../../../functions/kinds/appliance/auth';
import { ApplianceClient } from '../../../functions/kinds/appliance/client';
import { applianceTransport, type ApplianceTls } from '../../../functions/kinds/appliance/transport';
import { CertificateRejected, NotAuthorized, TransientApiError, VendorApiError } from '../../../functions/shared/errors';
import { ApplianceStorageFull } from '../../../functions/kinds/appliance/errors';
import { startApplianceSimulator, type ApplianceSimulator, type ApplianceSimulatorOptions } from '../../../bin/sandbox/appliance';

const TIMEOUT_MS = 5000;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface ClientSetup {
  readonly login?: ApplianceLogin;
  readonly tls?: ApplianceTls;
  readonly cache?: TokenCache;
  readonly now?: () => number;
}

/** A client as the handlers build it, with its own token cache so no test sees another's token. */
function applianceClient(baseUrl: string, login: ApplianceLogin, tls: ApplianceTls, setup: Pick<ClientSetup, 'cache' | 'now'> = {}): ApplianceClient {
  const transport = applianceTransport(tls);
  const auth = applianceAuthenticator({
    baseUrl,
    login,
    http: { fetch: transport.fetch, timeoutMs: TIMEOUT_MS },
    cache: setup.cache ?? new Map(),
    ...(setup.now ? { now: setup.now } : {}),
  });
  return new ApplianceClient({ baseUrl, auth, transport, timeoutMs: TIMEOUT_MS });
}

describe('ApplianceClient against the appliance simulator', () => {
  let simulator: ApplianceSimulator;

  const tokenLogin = (overrides: Partial<Extract<ApplianceLogin, { method: 'token' }>> = {}): ApplianceLogin => ({
    method: 'token',
    apiVersion: '1.0',
    username: simulator.username,
    password: simulator.password,
    ...overrides,
  });
  const trusted = (): ApplianceTls => ({ ca: simulator.caPem, verifyCertificate: true });
  const client = (setup: ClientSetup = {}): ApplianceClient =>
    applianceClient(simulator.url, setup.login ?? tokenLogin(), setup.tls ?? trusted(), { ...(setup.cache ? { cache: setup.cache } : {}) });
  const start = async (options: ApplianceSimulatorOptions = {}): Promise<ApplianceSimulator> => {
    simulator = await startApplianceSimulator({ backupDurationMs: 100, backupSizeBytes: 20_000, rebootWindowMs: 300, ...options });
    return simulator;
  };
  const apiRequests = () => simulator.requests.filter((request) => request.path.startsWith('/api/npm.backup/'));

  afterEach(async () => {
    await simulator.stop();
  });

  describe('authentication', () => {
    test.each(['1.0', '2.0'] as const)('gets a token from /api/mgmt.aaa/%s/token and calls the API with it', async (apiVersion) => {
      // Prepare
      await start();

      // Act
      const backups = await client({ login: tokenLogin({ apiVersion }) }).listBackups();

      // Assess
      expect(backups).toEqual([]);
      expect(simulator.requests.map((request) => `${request.method} ${request.path} ${request.auth} ${request.status}`)).toEqual([
        `POST /api/mgmt.aaa/${apiVersion}/token none 201`,
        'GET /api/npm.backup/1.0/backups token 200',
      ]);
    });

    test('sends Basic credentials on every call and asks for no token', async () => {
      // Prepare
      await start({ seedBackups: 1 });

      // Act
      const backups = await client({ login: { method: 'basic', username: simulator.username, password: simulator.password } }).listBackups();

      // Assess
      expect(backups).toHaveLength(1);
      expect(simulator.tokensIssued).toBe(0);
      expect(simulator.requests.map((request) => request.auth)).toEqual(['basic']);
    });

    test('gets an OAuth 2 token with the access code as assertion', async () => {
      // Prepare
      await start();
      const login: ApplianceLogin = { method: 'oauth2', tokenPath: '/api/common/1.0/oauth/token', grantType: 'access_code', secret: simulator.oauthAccessCode };

      // Act
      await client({ login }).listBackups();

      // Assess
      expect(simulator.tokensIssued).toBe(1);
      expect(simulator.requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
        'POST /api/common/1.0/oauth/token 200',
        'GET /api/npm.backup/1.0/backups 200',
      ]);
      expect(apiRequests().every((request) => request.auth === 'token')).toBe(true);
    });

    test('a refused OAuth 2 access code is NotAuthorized naming auth.secret, without the code', async () => {
      // Prepare
      await start();
      const wrongCode = 'wrong-access-code-0123456789';
      const login: ApplianceLogin = { method: 'oauth2', tokenPath: '/api/common/1.0/oauth/token', grantType: 'access_code', secret: wrongCode };

      // Act
      const failure = client({ login }).listBackups();

      // Assess
      await expect(failure).rejects.toBeInstanceOf(NotAuthorized);
      await expect(failure).rejects.toThrow('the OAuth 2 grant (auth.secret)');
      await expect(failure).rejects.not.toThrow(wrongCode);
    });

    test('reuses one cached token for several calls', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const appliance = client();

      // Act
      const [first] = await appliance.listBackups();
      await appliance.getBackup(first?.id ?? '');
      await appliance.restoreStatus();
      await appliance.deviceInfo();

      // Assess
      expect(simulator.tokensIssued).toBe(1);
      expect(simulator.requests.filter((request) => request.auth === 'token')).toHaveLength(4);
    });

    test('shares the token between clients that use the same cache', async () => {
      // Prepare
      await start();
      const cache: TokenCache = new Map();

      // Act
      await client({ cache }).listBackups();
      await client({ cache }).listBackups();

      // Assess
      expect(simulator.tokensIssued).toBe(1);
    });

    test('renews the token after a 401 and repeats the call once', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const appliance = client();
      await appliance.listBackups();
      simulator.expireTokens();

      // Act
      const backups = await appliance.listBackups();

      // Assess
      expect(backups).toHaveLength(1);
      expect(simulator.tokensIssued).toBe(2);
      expect(apiRequests().map((request) => request.status)).toEqual([200, 401, 200]);
    });

    test('a wrong password is NotAuthorized naming auth.username and auth.password, without the password', async () => {
      // Prepare
      await start();
      const wrongPassword = 'Wr0ng-Passw0rd-value';

      // Act
      const failure = client({ login: tokenLogin({ password: wrongPassword }) }).listBackups();

      // Assess
      await expect(failure).rejects.toBeInstanceOf(NotAuthorized);
      await expect(failure).rejects.toThrow('auth.username, auth.password');
      await expect(failure).rejects.not.toThrow(wrongPassword);
      expect(apiRequests()).toEqual([]);
    });

    test('a refused Basic login is NotAuthorized at once: a new attempt would not help', async () => {
      // Prepare
      await start();
      const wrongPassword = 'Wr0ng-Basic-value';

      // Act
      const failure = client({ login: { method: 'basic', username: simulator.username, password: wrongPassword } }).listBackups();

      // Assess
      await expect(failure).rejects.toBeInstanceOf(NotAuthorized);
      await expect(failure).rejects.toThrow('list appliance backups: the appliance answered HTTP 401 (credentials refused)');
      await expect(failure).rejects.not.toThrow(wrongPassword);
      expect(simulator.requests).toHaveLength(1);
    });
  });

  describe('TLS', () => {
    test('works when the target trusts the CA that signed the appliance certificate', async () => {
      // Prepare
      await start();

      // Act / Assess
      await expect(client().listBackups()).resolves.toEqual([]);
    });

    test('without the CA the self-signed certificate is refused as CertificateRejected naming the TLS error and tls.ca', async () => {
      // Prepare
      await start();

      // Act
      const failure = client({ tls: { verifyCertificate: true } }).listBackups();

      // Assess
      await expect(failure).rejects.toBeInstanceOf(CertificateRejected);
      await expect(failure).rejects.toThrow(/not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)\. Give the CA that signed it in tls\.ca/);
      expect(simulator.requests).toEqual([]);
    });

    test('a certificate for another host is CertificateRejected naming the host asked for and the names in the certificate, not tls.ca', async () => {
      // Prepare: signed by the trusted CA, but issued for another name.
      await start({ certificateNames: ['ar11-lab.example.net'] });

      // Act
      const failure = client().listBackups();

      // Assess
      await expect(failure).rejects.toBeInstanceOf(CertificateRejected);
      await expect(failure).rejects.toThrow('certificate for other names than the host asked for (ERR_TLS_CERT_ALTNAME_INVALID): asked for "127.0.0.1", the certificate names DNS:ar11-lab.example.net');
      await expect(failure).rejects.not.toThrow('tls.ca');
      expect(simulator.requests).toEqual([]);
    });

    test('a CA that did not sign the certificate is refused too', async () => {
      // Prepare: another simulator's CA.
      const other = await startApplianceSimulator();
      await other.stop();
      await start();

      // Act
      const failure = client({ tls: { ca: other.caPem, verifyCertificate: true } }).listBackups();

      // Assess
      await expect(failure).rejects.toBeInstanceOf(CertificateRejected);
      expect(simulator.requests).toEqual([]);
    });

    test('verifyCertificate: false works without the CA', async () => {
      // Prepare
      await start();

      // Act / Assess
      await expect(client({ tls: { verifyCertificate: false } }).listBackups()).resolves.toEqual([]);
    });
  });

  describe('backups', () => {
    test('creates a backup with the description and reads it back', async () => {
      // Prepare
      await start();
      const appliance = client();

      // Act
      const created = await appliance.createBackup('Made by offsite (test)');
      const read = await appliance.getBackup(created.id ?? 'no id in the answer');

      // Assess
      expect(created).toMatchObject({ description: 'Made by offsite (test)', status: 'started' });
      expect(read.id).toBe(created.id);
      expect(simulator.backups().map((backup) => backup.id)).toEqual([created.id]);
    });

    test('a create refused for lack of space is ApplianceStorageFull with the appliance text', async () => {
      // Prepare: the appliance holds as many backups as it can.
      await start({ seedBackups: 2, storageLimit: 2 });

      // Act
      const failure = client().createBackup('Made by offsite (test)');

      // Assess
      await expect(failure).rejects.toBeInstanceOf(ApplianceStorageFull);
      await expect(failure).rejects.toThrow(/HTTP 400 — INSUFFICIENT_SPACE: Not enough disk space/);
      expect(simulator.backups()).toHaveLength(2);
    });

    test('deletes a backup', async () => {
      // Prepare
      await start({ seedBackups: 2 });
      const [first, second] = simulator.backups();

      // Act
      await client().deleteBackup(first?.id ?? '');

      // Assess
      expect(simulator.backups().map((backup) => backup.id)).toEqual([second?.id]);
    });

    test('an unknown backup id is a VendorApiError with status 404', async () => {
      // Prepare
      await start();

      // Act
      const failure = client().getBackup('no-such-backup');

      // Assess
      await expect(failure).rejects.toBeInstanceOf(VendorApiError);
      await expect(failure).rejects.toMatchObject({ status: 404, message: expect.stringContaining('RESOURCE_NOT_FOUND') as unknown });
    });

    test('reads the software version from the device info resource', async () => {
      // Prepare
      await start({ info: { sw_version: '11.14.2' } });

      // Act
      const info = await client().deviceInfo();

      // Assess
      expect(info).toMatchObject({ sw_version: '11.14.2', model: simulator.info.model });
    });

    test('deviceInfo is undefined when the appliance has no info resource (404)', async () => {
      // Prepare
      await start({ infoEndpoint: false });

      // Act / Assess
      await expect(client().deviceInfo()).resolves.toBeUndefined();
    });
  });

  describe('download and upload', () => {
    test('downloadBackup streams the exact bytes the appliance serves', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const [held] = simulator.backups();
      const id = held?.id ?? '';

      // Act
      const file = await client().downloadBackup(id, AbortSignal.timeout(TIMEOUT_MS));
      const bytes = await readAll(file.body);

      // Assess
      expect(bytes.equals(simulator.backupBytes(id))).toBe(true);
      expect(file).toMatchObject({ contentType: 'application/x-gzip', contentLength: bytes.length });
    });

    test('downloadBackup renews an expired token once', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const id = simulator.backups()[0]?.id ?? '';
      const appliance = client();
      await appliance.listBackups();
      simulator.expireTokens();

      // Act
      const bytes = await readAll((await appliance.downloadBackup(id, AbortSignal.timeout(TIMEOUT_MS))).body);

      // Assess
      expect(sha256(bytes)).toBe(sha256(simulator.backupBytes(id)));
      expect(simulator.tokensIssued).toBe(2);
    });

    test('uploadBackup creates a backup holding exactly the uploaded bytes', async () => {
      // Prepare: a backup file taken from the appliance, then the appliance wiped.
      await start({ seedBackups: 1 });
      const file = simulator.backupBytes(simulator.backups()[0]?.id ?? '');
      simulator.deleteAllBackups();

      // Act
      const uploaded = await client().uploadBackup(async () => Readable.from([file]), file.length, AbortSignal.timeout(TIMEOUT_MS));

      // Assess
      expect(simulator.backups().map((backup) => backup.id)).toEqual([uploaded.id]);
      expect(sha256(simulator.backupBytes(uploaded.id ?? 'no id in the answer'))).toBe(sha256(file));
      expect(uploaded).toMatchObject({ status: 'completed', size: file.length });
    });

    test('uploadBackup renews an expired token and opens the body once more', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const file = simulator.backupBytes(simulator.backups()[0]?.id ?? '');
      simulator.deleteAllBackups();
      const appliance = client();
      await appliance.listBackups();
      simulator.expireTokens();
      let opened = 0;
      const openBody = async (): Promise<Readable> => {
        opened += 1;
        return Readable.from([file.subarray(0, 1000), file.subarray(1000)]);
      };

      // Act
      const uploaded = await appliance.uploadBackup(openBody, file.length, AbortSignal.timeout(TIMEOUT_MS));

      // Assess
      expect(opened).toBe(2);
      expect(simulator.tokensIssued).toBe(2);
      expect(sha256(simulator.backupBytes(uploaded.id ?? 'no id in the answer'))).toBe(sha256(file));
      expect(apiRequests().map((request) => `${request.path} ${request.status}`).slice(-2)).toEqual([
        '/api/npm.backup/1.0/backups/upload 401',
        '/api/npm.backup/1.0/backups/upload 201',
      ]);
    });

    test('an upload refused for lack of space is ApplianceStorageFull', async () => {
      // Prepare
      await start({ seedBackups: 1, storageLimit: 1 });
      const file = simulator.backupBytes(simulator.backups()[0]?.id ?? '');

      // Act
      const failure = client().uploadBackup(async () => Readable.from([file]), file.length, AbortSignal.timeout(TIMEOUT_MS));

      // Assess
      await expect(failure).rejects.toBeInstanceOf(ApplianceStorageFull);
      expect(simulator.backups()).toHaveLength(1);
    });
  });
});

describe('ApplianceClient against a hand-written appliance', () => {
  interface Answer {
    readonly status: number;
    readonly body?: unknown;
  }
  interface Seen {
    readonly method: string;
    readonly path: string;
    readonly authorization: string | undefined;
    readonly body: string;
  }
  let server: Server;
  let baseUrl: string;
  let answer: (seen: Seen) => Answer;
  const seen: Seen[] = [];
  const password = 'S3cret-Appliance-Passw0rd';
  const tokenLogin: ApplianceLogin = { method: 'token', apiVersion: '1.0', username: 'offsite', password };
  const plain: ApplianceTls = { verifyCertificate: true };
  const tokenCalls = () => seen.filter((request) => request.path.includes('/token'));

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const call: Seen = {
          method: request.method ?? 'GET',
          path: new URL(request.url ?? '/', 'http://appliance.invalid').pathname,
          authorization: request.headers.authorization,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        seen.push(call);
        const { status, body } = answer(call);
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(body === undefined ? undefined : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    seen.length = 0;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Issues tok-1, tok-2, ... from the token endpoint; everything else answers `api`. */
  function tokensThen(api: (call: Seen) => Answer, token: (n: number) => Record<string, unknown> = (n) => ({ access_token: `tok-${n}`, expires_in: 600 })): void {
    let issued = 0;
    answer = (call) => {
      if (call.path.includes('/token')) {
        issued += 1;
        return { status: 201, body: token(issued) };
      }
      return api(call);
    };
  }

  test('a second 401 after a new token is NotAuthorized, and the message has no password', async () => {
    // Prepare
    tokensThen(() => ({ status: 401, body: { error_id: 'AUTH_INVALID_SESSION', error_text: 'Session is not valid' } }));

    // Act
    const failure = applianceClient(baseUrl, tokenLogin, plain).listBackups();

    // Assess
    await expect(failure).rejects.toBeInstanceOf(NotAuthorized);
    await expect(failure).rejects.toThrow('list appliance backups: the appliance answered HTTP 401 (credentials refused) — AUTH_INVALID_SESSION: Session is not valid');
    await expect(failure).rejects.not.toThrow(password);
    expect(seen.map((call) => `${call.path} ${call.authorization ?? ''}`)).toEqual([
      '/api/mgmt.aaa/1.0/token ',
      '/api/npm.backup/1.0/backups Bearer tok-1',
      '/api/mgmt.aaa/1.0/token ',
      '/api/npm.backup/1.0/backups Bearer tok-2',
    ]);
  });

  test('an error body that echoes the request has the token and the Basic credentials taken out of the message', async () => {
    // Prepare: an appliance that quotes the Authorization header back.
    tokensThen((call) => ({ status: 400, body: { error_id: 'BAD_REQUEST', error_text: `rejected request with ${call.authorization ?? ''} and ${password}` } }));
    const basic: ApplianceLogin = { method: 'basic', username: 'offsite', password };
    const encoded = Buffer.from(`offsite:${password}`).toString('base64');

    // Act
    const withToken = await applianceClient(baseUrl, tokenLogin, plain).listBackups().catch((error: unknown) => error as Error);
    const withBasic = await applianceClient(baseUrl, basic, plain).listBackups().catch((error: unknown) => error as Error);

    // Assess
    expect(withToken).toBeInstanceOf(VendorApiError);
    expect(withBasic).toBeInstanceOf(VendorApiError);
    expect((withToken as Error).message).toContain('rejected request with Bearer [redacted] and [redacted]');
    expect((withBasic as Error).message).toContain('rejected request with Basic [redacted] and [redacted]');
    for (const failure of [withToken as Error, withBasic as Error]) {
      expect(failure.message).not.toContain(password);
      expect(failure.message).not.toContain(encoded);
      expect(failure.message).not.toContain('tok-1');
    }
  });

  test('sends the documented token request body', async () => {
    // Prepare
    tokensThen(() => ({ status: 200, body: { items: [] } }));

    // Act
    await applianceClient(baseUrl, { ...tokenLogin, apiVersion: '2.0' }, plain).listBackups();

    // Assess
    expect(tokenCalls().map((call) => [call.method, call.path, JSON.parse(call.body) as unknown])).toEqual([
      ['POST', '/api/mgmt.aaa/2.0/token', { user_credentials: { username: 'offsite', password }, generate_refresh_token: false }],
    ]);
  });

  test('a refused login that echoes the request does not put the password in the message', async () => {
    // Prepare: an appliance that quotes the request body back in its error.
    answer = (call) => ({ status: 401, body: { error_id: 'AUTH_FAILED', error_text: `Bad credentials in ${call.body}` } });

    // Act
    const failure = applianceClient(baseUrl, tokenLogin, plain).listBackups();

    // Assess
    await expect(failure).rejects.toBeInstanceOf(NotAuthorized);
    await expect(failure).rejects.toThrow('auth.username, auth.password');
    await expect(failure).rejects.not.toThrow(password);
  });

  test('a token answer without expires_at or expires_in is used for ten minutes less the renew margin', async () => {
    // Prepare
    tokensThen(
      () => ({ status: 200, body: { items: [] } }),
      (n) => ({ access_token: `tok-${n}` }),
    );
    let now = Date.UTC(2026, 2, 1);
    const appliance = applianceClient(baseUrl, tokenLogin, plain, { now: () => now });

    // Act
    await appliance.listBackups();
    now += 8 * 60_000;
    await appliance.listBackups();
    now += 2 * 60_000;
    await appliance.listBackups();

    // Assess
    expect(seen.filter((call) => !call.path.includes('/token')).map((call) => call.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
  });

  test('a token that lives shorter than the renew margin is still used', async () => {
    // Prepare
    tokensThen(
      () => ({ status: 200, body: { items: [] } }),
      (n) => ({ access_token: `tok-${n}`, expires_in: 5 }),
    );
    let now = Date.UTC(2026, 2, 1);
    const appliance = applianceClient(baseUrl, tokenLogin, plain, { now: () => now });

    // Act
    await appliance.listBackups();
    now += 500;
    await appliance.listBackups();
    now += 1000;
    await appliance.listBackups();

    // Assess
    expect(seen.filter((call) => !call.path.includes('/token')).map((call) => call.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
  });

  test('renews a token when expires_at says it is about to expire', async () => {
    // Prepare: expires_at is epoch seconds; renewed a minute early.
    let now = Date.UTC(2026, 2, 1);
    tokensThen(
      () => ({ status: 200, body: { items: [] } }),
      (n) => ({ access_token: `tok-${n}`, expires_at: Math.floor(now / 1000) + 600 }),
    );
    const appliance = applianceClient(baseUrl, tokenLogin, plain, { now: () => now });

    // Act
    await appliance.listBackups();
    now += 530_000;
    await appliance.listBackups();
    now += 20_000;
    await appliance.listBackups();

    // Assess
    expect(tokenCalls()).toHaveLength(2);
  });

  test('a token answer without access_token is a VendorApiError', async () => {
    // Prepare
    answer = () => ({ status: 201, body: { token_type: 'bearer' } });

    // Act / Assess
    await expect(applianceClient(baseUrl, tokenLogin, plain).listBackups()).rejects.toThrow(
      new VendorApiError('appliance token (POST /api/mgmt.aaa/1.0/token) answered without an access_token.'),
    );
  });

  test('OAuth 2 client_credentials sends a form with client id and secret', async () => {
    // Prepare
    tokensThen(() => ({ status: 200, body: { items: [] } }));
    const login: ApplianceLogin = { method: 'oauth2', tokenPath: '/oauth/token', grantType: 'client_credentials', clientId: 'offsite-client', secret: 'client-secret' };

    // Act
    await applianceClient(baseUrl, login, plain).listBackups();

    // Assess
    expect(tokenCalls().map((call) => [call.path, Object.fromEntries(new URLSearchParams(call.body))])).toEqual([
      ['/oauth/token', { grant_type: 'client_credentials', client_id: 'offsite-client', client_secret: 'client-secret' }],
    ]);
  });

  test('a 403 is NotAuthorized naming the missing permission, without asking for a new token', async () => {
    // Prepare
    tokensThen(() => ({ status: 403, body: { error_id: 'AUTH_FORBIDDEN', error_text: 'Permission denied' } }));

    // Act
    const failure = applianceClient(baseUrl, tokenLogin, plain).deleteBackup('b-1');

    // Assess
    await expect(failure).rejects.toBeInstanceOf(NotAuthorized);
    await expect(failure).rejects.toThrow('(the user lacks the permission for this call) — AUTH_FORBIDDEN: Permission denied');
    expect(tokenCalls()).toHaveLength(1);
  });

  test('a 507 on create is ApplianceStorageFull', async () => {
    // Prepare
    tokensThen(() => ({ status: 507, body: { error_id: 'INSUFFICIENT_STORAGE', error_text: 'No room' } }));

    // Act / Assess
    await expect(applianceClient(baseUrl, tokenLogin, plain).createBackup('Made by offsite')).rejects.toBeInstanceOf(ApplianceStorageFull);
  });

  test('a 400 on create whose text is not about space is a VendorApiError, not ApplianceStorageFull', async () => {
    // Prepare
    tokensThen(() => ({ status: 400, body: { error_id: 'REQUEST_INVALID_INPUT', error_text: 'description: unexpected character' } }));

    // Act
    const failure = applianceClient(baseUrl, tokenLogin, plain).createBackup('Made by offsite');

    // Assess
    await expect(failure).rejects.toBeInstanceOf(VendorApiError);
    await expect(failure).rejects.toMatchObject({ status: 400 });
  });

  test('a 5xx is TransientApiError carrying the status', async () => {
    // Prepare
    tokensThen(() => ({ status: 503, body: { error_id: 'UNAVAILABLE', error_text: 'Starting up' } }));

    // Act
    const failure = applianceClient(baseUrl, tokenLogin, plain).restoreStatus();

    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientApiError);
    await expect(failure).rejects.toMatchObject({ status: 503 });
  });

  test('an answer without the documented shape is a VendorApiError naming the field', async () => {
    // Prepare
    tokensThen(() => ({ status: 200, body: { items: [{ description: 'no id' }] } }));

    // Act / Assess
    await expect(applianceClient(baseUrl, tokenLogin, plain).listBackups()).rejects.toThrow(
      /list appliance backups: the appliance's answer does not have the documented shape \(items\.0\.id: /,
    );
  });
});

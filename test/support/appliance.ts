import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ArchiveListing, ArchivedCopy } from '../../functions/archive/listing';
import type { ApplianceTarget } from '../../functions/kinds/appliance/config';
import { applianceAuthenticator, type ApplianceLogin } from '../../functions/kinds/appliance/auth';
import { ApplianceClient, type ApplianceBackup } from '../../functions/kinds/appliance/client';
import { applianceTransport } from '../../functions/kinds/appliance/transport';
import { startApplianceSimulator, type ApplianceSimulator, type ApplianceSimulatorOptions } from '../../bin/sandbox/appliance';

// Fixtures shared by the unit tests of the appliance domain (test/kinds/appliance/*.test.ts).

export const target: ApplianceTarget = {
  name: 'ar11-lab',
  kind: 'appliance',
  baseUrl: 'https://127.0.0.1',
  auth: { method: 'token', apiVersion: '1.0', username: 'offsite', password: { env: 'APPLIANCE_PASSWORD' } },
  poll: { initialSeconds: 15, maxSeconds: 120, timeoutMinutes: 120 },
  applianceKeep: 1,
  restore: { rebootWindowMinutes: 30 },
  requestTimeoutSeconds: 30,
};

export const MADE_BY_OFFSITE = 'Made by offsite (target ar11-lab, execution exec-1)';
export const NO_COPIES: ArchiveListing = { copies: [], providerRecords: [], withoutManifest: [], unreadableManifests: [] };
export const readNoCopies = async (): Promise<ArchiveListing> => NO_COPIES;
export const clock = () => new Date();

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function backup(id: string, backupTime: number, fields: Partial<ApplianceBackup> = {}): ApplianceBackup {
  return { id, backup_time: backupTime, description: MADE_BY_OFFSITE, status: 'completed', size: 1000, sw_version: '11.12.0', ...fields };
}

export function archivedCopy(
  sourceBackupId: string,
  options: { sizeBytes?: number; matches?: boolean; createdAt?: string; swVersion?: string; sha256?: string } = {},
): ArchivedCopy {
  const createdAt = options.createdAt ?? '2026-03-20T01:00:00.000Z';
  const sizeBytes = options.sizeBytes ?? 1000;
  const objectKey = `ar11-lab/${createdAt.replace(/:/g, '-')}_${sourceBackupId}.tgz`;
  return {
    manifestKey: `${objectKey}.manifest.json`,
    manifest: {
      formatVersion: 1,
      target: 'ar11-lab',
      kind: 'appliance',
      sourceBackupId,
      objectKey,
      sizeBytes,
      sha256: options.sha256 ?? 'a'.repeat(64),
      sourceChecksum: null,
      sourceChecksumAlgorithm: null,
      sourceChecksumVerified: false,
      sourceSizeBytes: sizeBytes,
      createdAt,
      copiedAt: createdAt,
      contentType: 'application/x-gzip',
      source: { sw_version: options.swVersion ?? '11.12.0' },
    },
    objectMatchesManifest: options.matches ?? true,
  };
}

export function archiveOf(...copies: ArchivedCopy[]): ArchiveListing {
  return { copies, providerRecords: [], withoutManifest: [], unreadableManifests: [] };
}

export function clientFor(baseUrl: string, login: ApplianceLogin, ca: string | undefined, timeoutMs = 5000): ApplianceClient {
  const transport = applianceTransport({ ca, verifyCertificate: true });
  const auth = applianceAuthenticator({ baseUrl, login, http: { fetch: transport.fetch, timeoutMs }, cache: new Map() });
  return new ApplianceClient({ baseUrl, auth, transport, timeoutMs });
}

/** A client of the simulator, logged in with a token as the simulator expects. */
export function simulatorClient(simulator: ApplianceSimulator, timeoutMs?: number): ApplianceClient {
  return clientFor(simulator.url, { method: 'token', apiVersion: '1.0', username: simulator.username, password: simulator.password }, simulator.caPem, timeoutMs);
}

/** The simulator with quick backups and reboots, and a client of it. */
export async function startQuickSimulator(options: ApplianceSimulatorOptions = {}, timeoutMs?: number): Promise<{ simulator: ApplianceSimulator; client: ApplianceClient }> {
  const simulator = await startApplianceSimulator({ backupDurationMs: 60, backupSizeBytes: 20_000, rebootWindowMs: 150, ...options });
  return { simulator, client: simulatorClient(simulator, timeoutMs) };
}

export type ScriptedAnswer = (method: string, path: string) => { status: number; body?: unknown };

export interface HandWrittenAppliance {
  /** What the appliance answers to the next requests; each test sets it. */
  answer: ScriptedAnswer;
  client(): ApplianceClient;
}

/**
 * A plain HTTP appliance on 127.0.0.1 answering what `answer` says: for answers the
 * simulator does not give. Started once for the describe block it is called in.
 */
export function handWrittenAppliance(): HandWrittenAppliance {
  let server: Server;
  let baseUrl: string;
  const login: ApplianceLogin = { method: 'basic', username: 'offsite', password: 'not-checked' };
  const appliance: HandWrittenAppliance = {
    answer: () => ({ status: 500, body: { error_id: 'TEST', error_text: 'no answer scripted' } }),
    client: () => clientFor(baseUrl, login, undefined),
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const { status, body } = appliance.answer(request.method ?? 'GET', new URL(request.url ?? '/', 'http://appliance.invalid').pathname);
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(body === undefined ? undefined : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  return appliance;
}

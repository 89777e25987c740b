import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { archiveClient } from '../../functions/runtime/archive-client';
import { backupCommand, listCommand, restoreCommand, useConfig, type CliIo, type CommandResult } from '../cli/commands';
import { formatBytes } from '../cli/format';
import { startLocalS3, type LocalS3 } from './local-s3';
import { startApplianceSimulator, type ApplianceSimulator, type ApplianceSimulatorOptions } from './appliance';
import { startNetboxCloudSimulator, type NetboxCloudSimulator, type NetboxCloudSimulatorOptions } from './netbox-cloud';

export const SANDBOX_BUCKET = 'offsite-sandbox';
export const SANDBOX_NETBOX_TARGET = 'netbox-sandbox';
export const SANDBOX_SOURCE_INSTANCE = 'nb-a12ff000777';
export const SANDBOX_RESTORE_INSTANCE = 'nb-b23ff000888';
export const SANDBOX_APPLIANCE_TARGET = 'appliance-sandbox';
const NETBOX_KEY_ENV = 'OFFSITE_SANDBOX_NETBOX_CLOUD_KEY';
const APPLIANCE_PASSWORD_ENV = 'OFFSITE_SANDBOX_APPLIANCE_PASSWORD';

export interface SandboxEnvironment {
  readonly directory: string;
  readonly configPath: string;
  readonly s3: LocalS3;
  readonly netboxCloud: NetboxCloudSimulator;
  readonly appliance: ApplianceSimulator;
  /** What a process needs in its environment to run the CLI against this sandbox. */
  readonly env: Readonly<Record<string, string>>;
  stop(options?: { keepDirectory?: boolean }): Promise<void>;
}

export interface SandboxOptions {
  readonly directory?: string;
  readonly netboxCloud?: NetboxCloudSimulatorOptions;
  readonly appliance?: ApplianceSimulatorOptions;
  /** Overrides for the appliance target's configuration (applianceKeep, restore, tls, auth...). */
  readonly applianceTarget?: Record<string, unknown>;
  readonly poll?: { initialSeconds: number; maxSeconds: number; timeoutMinutes: number };
}

/** The simulators, a local S3 store and a configuration file pointing at them. */
export async function startSandboxEnvironment(options: SandboxOptions = {}): Promise<SandboxEnvironment> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'offsite-sandbox-')));
  const s3 = await startLocalS3({ directory: join(directory, 's3'), buckets: [SANDBOX_BUCKET] });
  const netboxCloud = await startNetboxCloudSimulator({
    backupRequestDurationMs: 1500,
    retrievalDurationMs: 1000,
    restoreDurationMs: 1500,
    ...options.netboxCloud,
  });
  const appliance = await startApplianceSimulator({ backupDurationMs: 1500, rebootWindowMs: 2500, ...options.appliance });
  const config = {
    archive: { bucket: SANDBOX_BUCKET, prefix: 'backups/', region: s3.region, endpoint: s3.endpoint, forcePathStyle: true },
    timezone: 'Europe/Berlin',
    targets: [
      {
        name: SANDBOX_NETBOX_TARGET,
        kind: 'netbox-cloud',
        baseUrl: netboxCloud.url,
        orgId: netboxCloud.orgId,
        instanceId: SANDBOX_SOURCE_INSTANCE,
        credentials: { env: NETBOX_KEY_ENV },
        schedule: 'cron(0 2 * * ? *)',
        poll: options.poll ?? { initialSeconds: 1, maxSeconds: 2, timeoutMinutes: 2 },
        retention: { keepLast: 3, keepDaily: 7 },
      },
      {
        name: SANDBOX_APPLIANCE_TARGET,
        kind: 'appliance',
        baseUrl: appliance.url,
        auth: { method: 'token', apiVersion: '1.0', username: appliance.username, password: { env: APPLIANCE_PASSWORD_ENV } },
        // The simulator's certificate is self-signed, like a real appliance's: trust exactly its CA.
        ...(appliance.caPem ? { tls: { ca: { pem: appliance.caPem } } } : {}),
        schedule: 'cron(30 2 * * ? *)',
        poll: options.poll ?? { initialSeconds: 1, maxSeconds: 2, timeoutMinutes: 2 },
        applianceKeep: 1,
        restore: { rebootWindowMinutes: 2 },
        ...options.applianceTarget,
      },
    ],
  };
  const configPath = join(directory, 'offsite.config.json');
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const env = {
    OFFSITE_CONFIG: configPath,
    [NETBOX_KEY_ENV]: netboxCloud.apiKey,
    [APPLIANCE_PASSWORD_ENV]: appliance.password,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  };
  return {
    directory,
    configPath,
    s3,
    netboxCloud,
    appliance,
    env,
    async stop(stopOptions = {}) {
      await Promise.allSettled([netboxCloud.stop(), appliance.stop(), s3.stop()]);
      if (!stopOptions.keepDirectory && !options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}

async function sha256OfObject(bucket: string, key: string, config: ReturnType<typeof useConfig>): Promise<string> {
  const answer = await archiveClient(config.archive).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of answer.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

type Step = (ok: boolean, line: string) => void;

/**
 * The appliance: back up (streamed off the box, verified), then simulate replaced
 * hardware (the appliance loses its backups) and restore the latest copy from the
 * archive, which uploads it and rides out the reboot.
 */
async function applianceRound(sandbox: SandboxEnvironment, config: ReturnType<typeof useConfig>, io: CliIo, step: Step): Promise<void> {
  const backup = await backupCommand(config, SANDBOX_APPLIANCE_TARGET, io);
  const archived = backup.archived;
  step(backup.exitCode === 0 && archived !== undefined, `appliance backup archived${archived ? `: ${archived.objectKey} (${formatBytes(archived.sizeBytes)})` : ''}`);
  if (!archived) return;
  const { listing } = await listCommand(config, SANDBOX_APPLIANCE_TARGET, { ...io, out: () => undefined });
  const copy = listing.copies.find((candidate) => candidate.manifest.objectKey === archived.objectKey);
  const served = copy ? createHash('sha256').update(sandbox.appliance.backupBytes(copy.manifest.sourceBackupId)).digest('hex') : '';
  const stored = await sha256OfObject(SANDBOX_BUCKET, archived.objectKey, config);
  step(
    copy !== undefined && stored === served && stored === copy.manifest.sha256 && copy.manifest.source.sw_version === sandbox.appliance.info.sw_version,
    `archived bytes match the appliance's file, byte for byte (sha256 ${stored.slice(0, 16)}…); the manifest records hostname ${String(copy?.manifest.source.hostname)}, software ${String(copy?.manifest.source.sw_version)}`,
  );
  io.out('');
  sandbox.appliance.deleteAllBackups();
  io.err('Simulating replaced hardware: the appliance no longer holds any backup.');
  const restore = await restoreCommand(config, SANDBOX_APPLIANCE_TARGET, io, { backup: 'latest', confirm: SANDBOX_APPLIANCE_TARGET });
  const restored = sandbox.appliance.restores.at(-1);
  step(
    restore.exitCode === 0 && restored?.sha256 === stored,
    `appliance restore from the archive completed: uploaded identical bytes, rode out the reboot (${sandbox.appliance.restores.length} restore started)`,
  );
}

/** `npm start`: back up and restore every kind against the simulators, then say what happened. */
export async function sandboxCommand(io: CliIo, options: { keep: boolean }): Promise<CommandResult> {
  const sandbox = await startSandboxEnvironment();
  const summary: string[] = [];
  let failed = false;
  const step = (ok: boolean, line: string): void => {
    summary.push(`${ok ? '✔' : '✘'} ${line}`);
    failed ||= !ok;
  };
  try {
    Object.assign(process.env, sandbox.env);
    const config = useConfig(sandbox.configPath);
    io.err(
      `Sandbox: NetBox Cloud simulator at ${sandbox.netboxCloud.url}, appliance simulator at ${sandbox.appliance.url} (self-signed, CA in the config), ` +
        `local S3 at ${sandbox.s3.endpoint} (bucket ${SANDBOX_BUCKET})\n`,
    );

    const backup = await backupCommand(config, SANDBOX_NETBOX_TARGET, io);
    const archived = backup.archived;
    step(backup.exitCode === 0 && archived !== undefined, `netbox-cloud backup archived${archived ? `: ${archived.objectKey} (${formatBytes(archived.sizeBytes)})` : ''}`);
    if (archived) {
      const { listing } = await listCommand(config, SANDBOX_NETBOX_TARGET, { ...io, out: () => undefined });
      const copy = listing.copies.find((candidate) => candidate.manifest.objectKey === archived.objectKey);
      const served = copy ? createHash('sha256').update(sandbox.netboxCloud.backupBytes(copy.manifest.sourceBackupId)).digest('hex') : '';
      const stored = await sha256OfObject(SANDBOX_BUCKET, archived.objectKey, config);
      step(
        copy !== undefined && stored === served && stored === copy.manifest.sha256,
        `archived bytes match what NetBox Cloud served, byte for byte (sha256 ${stored.slice(0, 16)}…), and the manifest agrees`,
      );
      io.out('');
      await listCommand(config, SANDBOX_NETBOX_TARGET, io);
      io.out('');
    }

    const restore = await restoreCommand(config, SANDBOX_NETBOX_TARGET, io, {
      backup: 'latest',
      to: SANDBOX_RESTORE_INSTANCE,
      confirm: SANDBOX_RESTORE_INSTANCE,
    });
    step(restore.exitCode === 0, `netbox-cloud restore of the latest backup onto ${SANDBOX_RESTORE_INSTANCE} completed`);
    io.out('');
    await applianceRound(sandbox, config, io, step);
  } catch (error) {
    step(false, `sandbox stopped: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await sandbox.stop({ keepDirectory: options.keep });
  }
  io.out('\nSandbox summary');
  for (const line of summary) io.out(`  ${line}`);
  if (options.keep) io.out(`  (kept ${sandbox.directory})`);
  return { exitCode: failed ? 1 : 0 };
}

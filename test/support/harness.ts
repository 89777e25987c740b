import { createHash } from 'node:crypto';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { LIFECYCLES, lifecycleFor } from '../../functions/catalog';
import type { OffsiteConfig } from '../../functions/config/schema';
import { archiveClient } from '../../functions/runtime/archive-client';
import { useConfig } from '../../bin/cli/commands';
import { allStates, loadLocalDefinition, runLifecycle, type JsonValue, type LifecycleOutcome, type StateList } from '../../bin/local/local-runner';
import { startSandboxEnvironment, type SandboxEnvironment, type SandboxOptions } from '../../bin/sandbox/sandbox';

export { localS3Client } from '../../bin/sandbox/local-s3';
export { SANDBOX_BUCKET } from '../../bin/sandbox/sandbox';
export { SANDBOX_APPLIANCE_TARGET } from '../../bin/sandbox/appliance/sandbox-round';
export { SANDBOX_NETBOX_TARGET, SANDBOX_RESTORE_INSTANCE, SANDBOX_SOURCE_INSTANCE } from '../../bin/sandbox/netbox-cloud/sandbox-round';

/** Every state of every lifecycle, Map item processors included: what the harness shortens is read from the ASL itself. */
const STATES = LIFECYCLES.flatMap((lifecycle) => allStates(loadLocalDefinition(lifecycle).States as unknown as StateList));

/** Poll waits shortened so a lifecycle runs in well under a second of waiting. */
export const FAST_WAITS_MS: Readonly<Record<string, number>> = Object.fromEntries(STATES.filter(([, state]) => state.Type === 'Wait').map(([name]) => [name, 25]));

/** No delay between Retry attempts. */
export const NO_RETRY_DELAY_MS: Readonly<Record<string, number>> = Object.fromEntries(STATES.filter(([, state]) => state.Retry !== undefined).map(([name]) => [name, 0]));

export interface Harness {
  readonly sandbox: SandboxEnvironment;
  readonly config: OffsiteConfig;
  readonly s3: S3Client;
  runBackup(input?: Record<string, string>): Promise<LifecycleOutcome>;
  runRestore(input: Record<string, string>): Promise<LifecycleOutcome>;
  runApplianceBackup(input?: Record<string, string>): Promise<LifecycleOutcome>;
  runApplianceRestore(input: Record<string, JsonValue>, waitsMs?: Record<string, number>): Promise<LifecycleOutcome>;
  stop(): Promise<void>;
}

/** Simulators with short durations, a local S3 store, and the handlers pointed at them. */
export async function startHarness(options: SandboxOptions = {}): Promise<Harness> {
  const sandbox = await startSandboxEnvironment({
    netboxCloud: { backupRequestDurationMs: 150, retrievalDurationMs: 100, restoreDurationMs: 150, redeployDelayMs: 50, ...options.netboxCloud },
    appliance: { backupDurationMs: 150, rebootWindowMs: 300, backupSizeBytes: 64 * 1024, ...options.appliance },
    ...(options.applianceTarget ? { applianceTarget: options.applianceTarget } : {}),
    // A restore must stay visible ("restoring") well past the first check, however busy the machine: offsite counts a
    // restore done only after it has seen one running.
    vps: { backupDurationMs: 150, restoreDurationMs: 150, restoreVisibleReads: 1, ...options.vps },
    ...(options.vpsTarget ? { vpsTarget: options.vpsTarget } : {}),
    poll: options.poll ?? { initialSeconds: 1, maxSeconds: 4, timeoutMinutes: 2 },
  });
  Object.assign(process.env, sandbox.env);
  const config = useConfig(sandbox.configPath);
  const run = (purpose: 'backup' | 'restore', input: Record<string, string>): Promise<LifecycleOutcome> =>
    runLifecycle({ lifecycle: lifecycleFor('netbox-cloud', purpose), input, waitOverridesMs: FAST_WAITS_MS, retryOverridesMs: NO_RETRY_DELAY_MS });
  const runAppliance = (purpose: 'backup' | 'restore', input: Record<string, JsonValue>, waitsMs: Record<string, number> = {}): Promise<LifecycleOutcome> =>
    runLifecycle({
      lifecycle: lifecycleFor('appliance', purpose),
      input,
      waitOverridesMs: { ...FAST_WAITS_MS, ...waitsMs },
      retryOverridesMs: NO_RETRY_DELAY_MS,
    });
  return {
    sandbox,
    config,
    s3: archiveClient(config.archive),
    runBackup: (input = { target: 'netbox-sandbox' }) => run('backup', input),
    runRestore: (input) => run('restore', input),
    runApplianceBackup: (input = { target: 'appliance-sandbox' }) => runAppliance('backup', input),
    runApplianceRestore: (input, waitsMs) => runAppliance('restore', input, waitsMs),
    stop: () => sandbox.stop(),
  };
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function readObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of answer.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const answer = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (answer.Contents ?? []).map((object) => object.Key ?? '').sort();
}

export async function openMultipartUploads(s3: S3Client, bucket: string): Promise<string[]> {
  const answer = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (answer.Uploads ?? []).map((upload) => `${upload.Key ?? ''} ${upload.UploadId ?? ''}`);
}

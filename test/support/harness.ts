import { createHash } from 'node:crypto';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LIFECYCLES, lifecycleFor, type TargetKind } from '../../functions/catalog';
import type { LifecyclePurpose } from '../../functions/kinds/kind';
import { TARGET_KINDS } from '../../functions/kinds/registry';
import type { OffsiteConfig } from '../../functions/config/schema';
import { archiveClient } from '../../functions/runtime/archive-client';
import { useConfig } from '../../bin/cli/commands';
import { allStates, loadLocalDefinition, runLifecycle, type JsonValue, type LifecycleOutcome, type StateList } from '../../bin/local/local-runner';
import { startSandboxEnvironment, type SandboxEnvironment, type SandboxOptions } from '../../bin/sandbox/sandbox';

export { localS3Client } from '../../bin/sandbox/local-s3';
export { SANDBOX_BUCKET } from '../../bin/sandbox/sandbox';

/** Every state of every lifecycle, Map item processors included: what the harness shortens is read from the ASL itself. */
const STATES = LIFECYCLES.flatMap((lifecycle) => allStates(loadLocalDefinition(lifecycle).States as unknown as StateList));

/** Poll waits shortened so a lifecycle runs in well under a second of waiting. */
export const FAST_WAITS_MS: Readonly<Record<string, number>> = Object.fromEntries(STATES.filter(([, state]) => state.Type === 'Wait').map(([name]) => [name, 25]));

/** No delay between Retry attempts. */
export const NO_RETRY_DELAY_MS: Readonly<Record<string, number>> = Object.fromEntries(STATES.filter(([, state]) => state.Retry !== undefined).map(([name]) => [name, 0]));

export interface RunOptions {
  /** Waits (by state name) beyond the harness's short ones. */
  readonly waitsMs?: Readonly<Record<string, number>>;
  readonly executionName?: string;
}

export interface Harness {
  readonly sandbox: SandboxEnvironment;
  readonly config: OffsiteConfig;
  readonly s3: S3Client;
  /** Runs a kind's lifecycle (its real ASL and handlers, in-process) with short waits and no retry delay. */
  run(kind: string, purpose: LifecyclePurpose, input: Record<string, JsonValue>, options?: RunOptions): Promise<LifecycleOutcome>;
  stop(): Promise<void>;
}

/**
 * What each kind's simulator is started with in the harness (short durations), from the
 * kind's test folder (test/kinds/<kind>/harness-options.ts, exporting `harnessOptions`):
 * a kind without that file runs its sandbox defaults.
 */
function kindHarnessOptions(kinds: readonly string[]): SandboxOptions {
  return Object.assign(
    {},
    ...kinds.map((kind) => {
      const file = join(__dirname, '..', 'kinds', kind, 'harness-options.ts');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return existsSync(file) ? (require(file) as { harnessOptions: SandboxOptions }).harnessOptions : {};
    }),
  ) as SandboxOptions;
}

/** Each simulator option of `options` laid over the kind's harness default (one level deep: a simulator's or a target's options). */
function mergedOptions(defaults: SandboxOptions, options: SandboxOptions): SandboxOptions {
  const merged: Record<string, unknown> = { ...defaults };
  for (const [name, value] of Object.entries(options)) {
    const base = merged[name];
    merged[name] = base !== null && typeof base === 'object' && !Array.isArray(base) && value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...base, ...value } : value;
  }
  return merged as SandboxOptions;
}

/** Simulators with short durations, a local S3 store, and the handlers pointed at them. */
export async function startHarness(options: SandboxOptions = {}): Promise<Harness> {
  const defaults = kindHarnessOptions([...TARGET_KINDS, ...Object.keys(options.sandboxParts ?? {})]);
  const sandbox = await startSandboxEnvironment({ ...mergedOptions(defaults, options), poll: options.poll ?? { initialSeconds: 1, maxSeconds: 4, timeoutMinutes: 2 } });
  Object.assign(process.env, sandbox.env);
  const config = useConfig(sandbox.configPath);
  return {
    sandbox,
    config,
    s3: archiveClient(config.archive),
    run: (kind, purpose, input, runOptions = {}) =>
      runLifecycle({
        lifecycle: lifecycleFor(kind as TargetKind, purpose),
        input,
        waitOverridesMs: { ...FAST_WAITS_MS, ...runOptions.waitsMs },
        retryOverridesMs: NO_RETRY_DELAY_MS,
        ...(runOptions.executionName !== undefined ? { executionName: runOptions.executionName } : {}),
      }),
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

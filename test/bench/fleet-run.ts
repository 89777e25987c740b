// Child process: 1,000 VPS targets (one server each) backed up through the local fan-out
// (`offsite backup --all`), poll waits overridden, against one simulator that counts the
// requests open at once; next to the same 1,000 backup lifecycles started directly from a
// pool of the same size (no fan-out), so the difference is the fan-out's own cost.
import '../../functions/runtime/node-compat';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backupAllCommand } from '../../bin/cli/backup-all';
import { useConfig, type CliIo } from '../../bin/cli/commands';
import { runLifecycle } from '../../bin/local/local-runner';
import { startSandboxEnvironment } from '../../bin/sandbox/sandbox';
import { lifecycleFor } from '../../functions/catalog';
import { FAST_WAITS_MS, NO_RETRY_DELAY_MS } from '../support/harness';
import { measureAndReply, receiveJob, startRssSampler } from './bench-child';

export interface FleetRunJob {
  readonly targets: number;
  readonly concurrency: number;
}
export interface FleetRunResult {
  readonly type: 'result';
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
  readonly memory: import('./bench-child').MemoryFigures;
  readonly fanOutMs: number;
  readonly directMs: number;
  readonly succeeded: number;
  readonly maxInFlightFanOut: number;
  readonly maxInFlightDirect: number;
}

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
const WAITS = Object.fromEntries(Object.keys(FAST_WAITS_MS).map((name) => [name, 1]));

async function main(): Promise<void> {
  const sampler = startRssSampler(50);
  const job = await receiveJob<FleetRunJob>();
  // VPS, not NetBox Cloud: its backups are listed per server, while NetBox Cloud lists the
  // whole organisation's, and 1,000 instances backing up in one organisation shift those
  // pages under the client (it refuses them as InconsistentPagination; the netbox-cloud kind's to solve).
  const servers = Array.from({ length: job.targets }, (_, index) => ({ id: 50_000 + index, name: `bench-${index}` }));
  const sandbox = await startSandboxEnvironment({
    vps: { servers, backupDurationMs: 5, seedAutomaticBackups: 0, responseLatencyMs: 20 },
    poll: { initialSeconds: 1, maxSeconds: 4, timeoutMinutes: 10 },
  });
  Object.assign(process.env, sandbox.env);
  const base = useConfig(sandbox.configPath);
  const template = base.targets.find((target) => target.kind === 'vps');
  if (!template) throw new Error('no vps target in the sandbox');
  const { drill: _drill, ...plain } = template as typeof template & { drill?: unknown };
  const targets = servers.map((server, index) => ({ ...plain, name: `vps-bench-${index}`, serverId: server.id }));
  const path = join(sandbox.directory, 'fleet.config.json');
  writeFileSync(path, JSON.stringify({ ...base, targets, fleet: { maxConcurrency: { vps: job.concurrency } } }));
  const config = useConfig(path);
  const quiet: CliIo = { out: () => undefined, err: () => undefined, errStream: process.stderr };
  const calls = sandbox.vps.calls;

  await measureAndReply<FleetRunResult>(
    sampler,
    async () => {
      // Direct: the same lifecycles from a pool of the same size, no fan-out around them.
      calls.resetMax();
      const directStarted = performance.now();
      const queue = [...targets];
      await Promise.all(
        Array.from({ length: job.concurrency }, async () => {
          for (let target = queue.shift(); target; target = queue.shift()) {
            const outcome = await runLifecycle({ lifecycle: lifecycleFor('vps', 'backup'), input: { target: target.name }, waitOverridesMs: WAITS, retryOverridesMs: NO_RETRY_DELAY_MS });
            if (!outcome.succeeded) throw new Error(`direct backup of ${target.name} failed: ${outcome.error ?? '?'}`);
          }
        }),
      );
      const directMs = performance.now() - directStarted;
      const maxInFlightDirect = calls.maxInFlight;

      calls.resetMax();
      const fanOutStarted = performance.now();
      const result = await backupAllCommand(config, quiet, { waitOverridesMs: { ...WAITS, StartJitter: 0 }, retryOverridesMs: NO_RETRY_DELAY_MS });
      const fanOutMs = performance.now() - fanOutStarted;
      return {
        fanOutMs,
        directMs,
        succeeded: result.rows.filter((row) => row.result === 'ok').length,
        maxInFlightFanOut: calls.maxInFlight,
        maxInFlightDirect,
      };
    },
    () => void sandbox.stop(),
  );
}

void main();

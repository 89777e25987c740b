// The fleet row of `npm run bench`: 1,000 simulated targets through the local fan-out
// (fleet-run.ts, its own process), the fan-out's overhead per target against the same
// lifecycles started directly, peak memory, and the most vendor requests open at once as
// the simulator counted them, which must not exceed maxConcurrency.
import { mib, peakRssBytes, printRows, progress, runChildJob, tsLaunch, type BenchContext, type DirectionOutcome, type Row } from './harness';
import type { FleetRunJob, FleetRunResult } from './fleet-run';

export const FLEET_TARGETS = 1000;
export const FLEET_CONCURRENCY = 8;

export async function runFleetDirection(context: BenchContext): Promise<DirectionOutcome> {
  progress(`backing up ${FLEET_TARGETS} simulated targets through the local fan-out, ${FLEET_CONCURRENCY} at once`);
  const result = await runChildJob<FleetRunResult>(tsLaunch('fleet-run.ts'), { targets: FLEET_TARGETS, concurrency: FLEET_CONCURRENCY } satisfies FleetRunJob, 'fleet run', Math.max(context.stepTimeoutMs, 15 * 60_000));
  const failures: string[] = [];
  if (!result.ok) failures.push(`fleet run failed: ${result.error ?? '?'}`);
  else {
    if (result.succeeded !== FLEET_TARGETS) failures.push(`fleet: ${result.succeeded} of ${FLEET_TARGETS} targets succeeded`);
    if (result.maxInFlightFanOut > FLEET_CONCURRENCY) failures.push(`fleet: ${result.maxInFlightFanOut} vendor requests open at once, above maxConcurrency ${FLEET_CONCURRENCY}`);
  }
  // Wall time the fan-out adds per target over the same lifecycles run directly.
  const overheadMs = result.ok ? (result.fanOutMs - result.directMs) / FLEET_TARGETS : 0;
  const rows: Row[] = [
    {
      name: `fan-out (${FLEET_TARGETS} targets, ${FLEET_CONCURRENCY} at once)`,
      seconds: result.fanOutMs / 1000,
      peakRssMiB: mib(peakRssBytes(result.memory)),
      note: result.ok
        ? `${result.succeeded} ok; overhead ${overheadMs.toFixed(1)} ms per target; max ${result.maxInFlightFanOut} vendor requests open at once (bound ${FLEET_CONCURRENCY})`
        : `FAILED: ${result.error ?? '?'}`,
    },
    { name: `direct (same lifecycles, pool of ${FLEET_CONCURRENCY})`, seconds: result.directMs / 1000, note: `the floor: no fan-out; max ${result.maxInFlightDirect} requests open at once` },
  ];
  console.log('fleet (simulator, local S3 and the runs in one process: peak memory is all of them; poll waits 1 ms)');
  printRows(rows);
  return { failures, incomplete: false };
}

// The prune row of `npm run bench`: planning the retention of 10,000 copies (PBS's rules,
// Europe/Berlin periods) in its own process, its time and peak memory, against sorting the
// same copies by time (the least any planner does) measured in the same process.
import { mib, peakRssBytes, printRows, progress, ratio, runChildJob, tsLaunch, type BenchContext, type DirectionOutcome, type Row } from './harness';
import type { PruneRunJob, PruneRunResult } from './prune-run';

export const PRUNE_COPIES = 10_000;

export async function runPruneDirection(context: BenchContext): Promise<DirectionOutcome> {
  progress(`planning the retention of ${PRUNE_COPIES} copies`);
  const result = await runChildJob<PruneRunResult>(tsLaunch('prune-run.ts'), { copies: PRUNE_COPIES } satisfies PruneRunJob, 'prune run', context.stepTimeoutMs);
  const failures: string[] = [];
  // keep-last 3 + 24 hourly + 7 daily + 4 weekly + 12 monthly + 5 yearly, over hourly copies: at most 55 are kept.
  if (!result.ok) failures.push(`prune planning failed: ${result.error ?? '?'}`);
  else if (result.kept === 0 || result.kept > 55 || result.kept + result.removed !== PRUNE_COPIES) failures.push(`prune kept ${result.kept} and removed ${result.removed} of ${PRUNE_COPIES}`);
  const rows: Row[] = [
    { name: `retention plan (${PRUNE_COPIES} copies)`, seconds: result.elapsedMs / 1000, peakRssMiB: mib(peakRssBytes(result.memory)), note: result.ok ? `${result.kept} kept, ${result.removed} removed; ${ratio(result.elapsedMs, result.sortMs)} the sort` : `FAILED: ${result.error ?? '?'}` },
    { name: `sort by time (${PRUNE_COPIES} copies)`, seconds: result.sortMs / 1000, note: 'the floor: same process, same copies' },
  ];
  console.log('prune (retention over the archive\'s manifests; listing and deletes not included)');
  printRows(rows);
  return { failures, incomplete: false };
}

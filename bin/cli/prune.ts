// `offsite prune <target> [--dry-run] [--json]`: the target's retention applied to its
// archived copies, or, for a kind whose vendor holds the backups (vps), at the vendor
// through that kind (docs/design.md, "Command line"). Both print the same PruneReport.
import { archivePlaces } from '../../functions/archive/places';
import { failedRemovals, placesReport, prunePlaces, type LeftoverRemoval } from '../../functions/archive/prune';
import type { PrunedCopy, PruneReport } from '../../functions/archive/prune-report';
import { findTarget } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { systemClock, type Clock } from '../../functions/shared/clock';
import type { CliIo, CommandResult } from './commands';
import { kindCommandsOf } from './kind-commands';

const DECISION_WORDS = { keep: 'keep     ', remove: 'remove   ', protected: 'protected', locked: 'locked   ' } as const;

function printCopies(copies: readonly PrunedCopy[], dryRun: boolean, io: CliIo): void {
  for (const copy of copies) {
    const removal = copy.removal === undefined ? '' : copy.removal.done ? '  removed' : `  REMOVAL FAILED: ${copy.removal.error ?? ''}`;
    io.out(`  ${DECISION_WORDS[copy.decision]}  ${copy.createdAt}  ${copy.objectKey ?? `provider backup ${copy.sourceBackupId}`}  (${copy.reason})${removal}`);
  }
  const count = (decision: string): number => copies.filter((copy) => copy.decision === decision).length;
  io.out(`  ${count('keep')} kept, ${count('protected')} protected, ${count('locked')} locked, ${count('remove')} ${dryRun ? 'to remove' : 'removed or tried'}`);
}

function printReport(report: PruneReport, io: CliIo, primaryUrl: string | undefined): void {
  const policy = report.policy ? Object.entries(report.policy).map(([option, n]) => `${option}=${String(n)}`).join(' ') : 'none (every copy is kept)';
  io.out(`${report.dryRun ? 'Would prune' : 'Pruned'} ${report.target}: retention ${policy}, periods in ${report.timezone}`);
  // With a secondary, each place's copies under its own heading: the two are decided apart.
  if (report.secondary) io.out(`  in the primary (${primaryUrl ?? ''}):`);
  printCopies(report.copies, report.dryRun, io);
  if (report.secondary) {
    io.out(`  in the secondary (${report.secondary.url}):`);
    printCopies(report.secondary.copies, report.dryRun, io);
  }
}

export async function pruneCommand(
  config: OffsiteConfig,
  targetName: string,
  io: CliIo,
  options: { readonly dryRun?: boolean; readonly json?: boolean; readonly clock?: Clock } = {},
): Promise<CommandResult & { report: PruneReport }> {
  const target = findTarget(config, targetName);
  const dryRun = options.dryRun ?? false;
  const atVendor = kindCommandsOf(target).prune;
  let report: PruneReport;
  // Leftovers by place: the secondary's are named with its place.
  let leftovers: readonly (LeftoverRemoval & { readonly where: string })[] = [];
  let primaryUrl: string | undefined;
  if (atVendor) {
    report = await atVendor(config, target, { dryRun });
  } else {
    const places = await archivePlaces(config);
    for (const place of places) io.err(`${dryRun ? 'Planning' : 'Applying'} the retention of ${target.name} to ${place.url}${target.name}/`);
    const outcomes = await prunePlaces(places, {
      target: target.name,
      policy: 'retention' in target ? target.retention : undefined,
      timezone: config.timezone,
      dryRun,
      now: (options.clock ?? systemClock)(),
    });
    report = placesReport(outcomes);
    primaryUrl = places[0]?.url;
    leftovers = outcomes.flatMap((outcome) => outcome.leftovers.map((leftover) => ({ ...leftover, where: outcome.place.name === 'secondary' ? `in the secondary ${outcome.place.url}: ` : '' })));
  }
  if (options.json) io.out(JSON.stringify(report));
  else printReport(report, io, primaryUrl);
  for (const leftover of leftovers) {
    if (dryRun) io.err(`note: ${leftover.where}${leftover.objectKey} has no manifest (left by an earlier removal or an interrupted copy) and would be removed`);
    else if (!leftover.done) io.err(`prune failed: ${leftover.where}${leftover.objectKey} (no manifest, not a backup) could not be removed: ${leftover.error ?? ''}`);
  }
  const failed = [
    ...failedRemovals(report).map((copy) => ({ copy, where: '' })),
    ...(report.secondary ? failedRemovals(report.secondary).map((copy) => ({ copy, where: `in the secondary ${report.secondary?.url ?? ''}: ` })) : []),
  ];
  for (const { copy, where } of failed) {
    io.err(`prune failed: ${where}${copy.objectKey ?? `provider backup ${copy.sourceBackupId}`}: ${copy.removal?.error ?? 'not removed'} (tried again next time)`);
  }
  return { exitCode: failed.length > 0 || leftovers.some((leftover) => !dryRun && !leftover.done) ? 1 : 0, report };
}

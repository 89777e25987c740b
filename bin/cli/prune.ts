// `offsite prune <target> [--dry-run] [--json]`: the target's retention applied to its
// archived copies, or, for a kind whose vendor holds the backups (vps), at the vendor
// through that kind (docs/design.md, "Command line"). Both print the same PruneReport.
import { failedRemovals, pruneArchive, type LeftoverRemoval } from '../../functions/archive/prune';
import type { PruneReport } from '../../functions/archive/prune-report';
import { findTarget } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { archiveClient } from '../../functions/runtime/archive-client';
import { systemClock, type Clock } from '../../functions/shared/clock';
import type { CliIo, CommandResult } from './commands';
import { kindCommandsOf } from './kind-commands';

const DECISION_WORDS = { keep: 'keep     ', remove: 'remove   ', protected: 'protected', locked: 'locked   ' } as const;

function printReport(report: PruneReport, io: CliIo): void {
  const policy = report.policy ? Object.entries(report.policy).map(([option, n]) => `${option}=${String(n)}`).join(' ') : 'none (every copy is kept)';
  io.out(`${report.dryRun ? 'Would prune' : 'Pruned'} ${report.target}: retention ${policy}, periods in ${report.timezone}`);
  for (const copy of report.copies) {
    const removal = copy.removal === undefined ? '' : copy.removal.done ? '  removed' : `  REMOVAL FAILED: ${copy.removal.error ?? ''}`;
    io.out(`  ${DECISION_WORDS[copy.decision]}  ${copy.createdAt}  ${copy.objectKey ?? `provider backup ${copy.sourceBackupId}`}  (${copy.reason})${removal}`);
  }
  const count = (decision: string): number => report.copies.filter((copy) => copy.decision === decision).length;
  io.out(`  ${count('keep')} kept, ${count('protected')} protected, ${count('locked')} locked, ${count('remove')} ${report.dryRun ? 'to remove' : 'removed or tried'}`);
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
  let leftovers: readonly LeftoverRemoval[] = [];
  if (atVendor) {
    report = await atVendor(config, target, { dryRun });
  } else {
    io.err(`${dryRun ? 'Planning' : 'Applying'} the retention of ${target.name} to s3://${config.archive.bucket}/${config.archive.prefix}${target.name}/`);
    const outcome = await pruneArchive({
      s3: archiveClient(config.archive),
      bucket: config.archive.bucket,
      prefix: config.archive.prefix,
      target: target.name,
      policy: 'retention' in target ? target.retention : undefined,
      timezone: config.timezone,
      objectLock: config.archive.objectLock !== undefined,
      dryRun,
      now: (options.clock ?? systemClock)(),
    });
    report = outcome.report;
    leftovers = outcome.leftovers;
  }
  if (options.json) io.out(JSON.stringify(report));
  else printReport(report, io);
  for (const leftover of leftovers) {
    if (dryRun) io.err(`note: ${leftover.objectKey} has no manifest (left by an earlier removal or an interrupted copy) and would be removed`);
    else if (!leftover.done) io.err(`prune failed: ${leftover.objectKey} (no manifest, not a backup) could not be removed: ${leftover.error ?? ''}`);
  }
  const failed = failedRemovals(report);
  for (const copy of failed) io.err(`prune failed: ${copy.objectKey ?? `provider backup ${copy.sourceBackupId}`}: ${copy.removal?.error ?? 'not removed'} (tried again next time)`);
  return { exitCode: failed.length > 0 || leftovers.some((leftover) => !dryRun && !leftover.done) ? 1 : 0, report };
}

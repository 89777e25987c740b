import { lifecycleFor } from '../../functions/catalog';
import { listArchivedCopies, type ArchiveListing } from '../../functions/archive/catalog';
import { findTarget, loadConfigFile } from '../../functions/config/load';
import type { ApplianceTarget, NetboxCloudTarget, OffsiteConfig, TargetConfig } from '../../functions/config/schema';
import type { RestorePlan } from '../../functions/kinds/appliance/restore-plan';
import { archiveClient } from '../../functions/runtime/archive-client';
import { CONFIG_PARAMETER_ENV, forgetRuntimeConfig } from '../../functions/runtime/config-source';
import { cancelCopiesWith, listenToCopyProgress } from '../../functions/runtime/progress';
import { InvalidInput } from '../../functions/shared/errors';
import { runLifecycle, type LifecycleEvent, type LifecycleOutcome } from '../local/local-runner';
import { formatAge, formatBytes, plainCause } from './format';
import { copyProgressReporter, stateReporter } from './progress';

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly errStream: NodeJS.WriteStream;
}

export interface CommandResult {
  readonly exitCode: number;
}

/** Handlers read the configuration themselves; point them at the same file the CLI validated. */
export function useConfig(path: string): OffsiteConfig {
  const config = loadConfigFile(path);
  process.env.OFFSITE_CONFIG = path;
  delete process.env[CONFIG_PARAMETER_ENV];
  forgetRuntimeConfig();
  return config;
}


/** The functions log it too, but their logs are silent on the command line unless --verbose. */
function warnIfInsecure(target: TargetConfig, io: CliIo): void {
  if (target.kind === 'appliance' && target.tls?.dangerouslyDisableCertificateVerification) {
    io.err(`WARNING: TLS certificate verification is OFF for ${target.name} (tls.dangerouslyDisableCertificateVerification): anyone on the path can read its credentials and backups.`);
  }
}

function reportFailure(io: CliIo, what: string, outcome: LifecycleOutcome): CommandResult {
  io.err(`${what} failed: ${outcome.error ?? 'unknown error'}`);
  const cause = plainCause(outcome.cause);
  if (cause) io.err(`  ${cause}`);
  return { exitCode: 1 };
}

/** What a backup lifecycle holds at its end: the archived copy, and what the vendor step had to do to make the backup. */
interface BackupState {
  readonly archive: ArchivedResult;
  readonly backup?: { readonly notes?: readonly string[] };
}

export interface ArchivedResult {
  readonly objectKey: string;
  readonly manifestKey: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly sourceChecksumVerified: boolean;
}

/**
 * Runs a lifecycle with a progress bar for its streaming step. Ctrl-C during that step
 * cancels the transfer, so a multipart upload is aborted (or an appliance upload cut
 * short) and the lifecycle fails normally; at any other moment (or a second time) it quits at once.
 */
async function runWithTransfer(
  io: CliIo,
  transferState: string,
  run: (onEvent: (event: LifecycleEvent) => void) => Promise<LifecycleOutcome>,
): Promise<LifecycleOutcome> {
  const progress = copyProgressReporter(io.errStream);
  listenToCopyProgress(progress.onProgress);
  const cancel = new AbortController();
  cancelCopiesWith(cancel.signal);
  let transferring = false;
  const report = stateReporter(io.err);
  const onEvent = (event: LifecycleEvent): void => {
    if (event.type === 'state-entered') transferring = event.state === transferState;
    report(event);
  };
  const onInterrupt = (): void => {
    if (!transferring || cancel.signal.aborted) process.exit(130);
    io.err('Cancelling the transfer (press Ctrl-C again to quit at once)…');
    cancel.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    return await run(onEvent);
  } finally {
    process.off('SIGINT', onInterrupt);
    cancelCopiesWith(undefined);
    progress.stop();
    listenToCopyProgress(undefined);
  }
}

export async function backupCommand(
  config: OffsiteConfig,
  targetName: string,
  io: CliIo,
  options: { json?: boolean } = {},
): Promise<CommandResult & { archived?: ArchivedResult }> {
  const target = findTarget(config, targetName);
  const lifecycle = lifecycleFor(target.kind, 'backup');
  warnIfInsecure(target, io);
  io.err(`Backing up ${target.name} (${target.kind}) into s3://${config.archive.bucket}/${config.archive.prefix}${target.name}/`);
  const outcome = await runWithTransfer(io, 'CopyToArchive', (onEvent) => runLifecycle({ lifecycle, input: { target: target.name }, onEvent }));
  // PruneFailed: the copy is archived and verified, only the vendor-side housekeeping
  // after it failed. The execution stays failed (so the alarms see it); the command
  // reports the copy and exits 0 with a warning.
  const pruneFailed = !outcome.succeeded && outcome.error === 'PruneFailed';
  if (!outcome.succeeded && !pruneFailed) return reportFailure(io, `Backup of ${target.name}`, outcome);
  const state = (pruneFailed ? outcome.failedWith : outcome.output) as BackupState;
  const archived = state.archive;
  const notes = [...(state.backup?.notes ?? []), ...(pruneFailed ? [plainCause(outcome.cause) || 'pruning failed'] : [])];
  if (pruneFailed) io.err(`warning: ${target.name} is archived and verified, but pruning failed (PruneFailed)`);
  if (options.json) {
    io.out(JSON.stringify({ target: target.name, bucket: config.archive.bucket, ...archived, notes, ...(pruneFailed ? { pruneFailed: true } : {}) }));
  } else {
    io.out(`archived ${target.name}: ${archived.objectKey}`);
    io.out(`  bucket    ${config.archive.bucket}`);
    io.out(`  manifest  ${archived.manifestKey}`);
    io.out(`  size      ${archived.sizeBytes} bytes (${formatBytes(archived.sizeBytes)})`);
    io.out(`  sha256    ${archived.sha256}`);
    io.out(`  vendor checksum ${archived.sourceChecksumVerified ? 'verified' : 'not comparable (recorded in the manifest)'}`);
    for (const note of notes) io.out(`  note      ${note}`);
  }
  return { exitCode: 0, archived };
}

export interface RestoreCommandOptions {
  /** A backup id, or "latest". */
  readonly backup?: string;
  /** An archive object key (appliances: restore that archived copy). */
  readonly archiveKey?: string;
  readonly to?: string;
  readonly confirm: string;
  readonly allowVersionMismatch?: boolean;
}

/** What a restore overwrites, and so what the operator must type to confirm it. */
export function restoreDestination(target: TargetConfig, to: string | undefined): string {
  if (target.kind === 'netbox-cloud') return to ?? target.instanceId;
  if (to !== undefined) throw new InvalidInput(`--to is not available for ${target.kind} targets: a restore goes onto the appliance "${target.name}" itself.`);
  return target.name;
}

export async function restoreCommand(config: OffsiteConfig, targetName: string, io: CliIo, options: RestoreCommandOptions): Promise<CommandResult> {
  const target = findTarget(config, targetName);
  if ((options.backup === undefined) === (options.archiveKey === undefined)) {
    throw new InvalidInput('Give exactly one of --backup <id|latest> or --archive-key <key>.');
  }
  if (target.kind === 'netbox-cloud') {
    if (options.archiveKey !== undefined) throw new InvalidInput('--archive-key is only for appliance targets; NetBox Cloud restores from its own backups (--backup).');
    return restoreNetboxCloud(target, io, { ...options, backup: options.backup ?? '' });
  }
  return restoreAppliance(target, io, options);
}

async function restoreNetboxCloud(target: NetboxCloudTarget, io: CliIo, options: RestoreCommandOptions & { backup: string }): Promise<CommandResult> {
  const targetInstanceId = restoreDestination(target, options.to);
  io.err(`Restoring ${target.name} backup "${options.backup}" onto ${targetInstanceId}`);
  const outcome = await runLifecycle({
    lifecycle: lifecycleFor(target.kind, 'restore'),
    input: { target: target.name, backupId: options.backup, targetInstanceId, confirm: options.confirm },
    onEvent: stateReporter(io.err),
  });
  if (!outcome.succeeded) return reportFailure(io, `Restore of ${target.name} onto ${targetInstanceId}`, outcome);
  const output = outcome.output as { backup: { backupId: string; createdAt: string }; restore: { restoreJobId: string; redeployedAt: string | null } };
  io.out(`restored ${target.name} backup ${output.backup.backupId} (created ${output.backup.createdAt}) onto ${targetInstanceId}`);
  io.out(
    output.restore.redeployedAt
      ? `  restore job ${output.restore.restoreJobId} completed; instance redeployed at ${output.restore.redeployedAt}`
      : `  restore job ${output.restore.restoreJobId} completed; NetBox Cloud has not reported the redeploy (nb_redeployed) yet — check the instance`,
  );
  return { exitCode: 0 };
}

interface ApplianceRestoreOutput {
  readonly plan: RestorePlan;
  readonly uploaded?: { readonly backupId: string; readonly uploadedBytes?: number };
  readonly restore: { readonly lastRestoreTime: number | null; readonly unreachableChecks: number; readonly statusMessage: string | null };
}

async function restoreAppliance(target: ApplianceTarget, io: CliIo, options: RestoreCommandOptions): Promise<CommandResult> {
  restoreDestination(target, options.to);
  warnIfInsecure(target, io);
  const selection: Record<string, string> = options.archiveKey !== undefined ? { archiveKey: options.archiveKey } : { backupId: options.backup ?? '' };
  io.err(`Restoring appliance ${target.name} (${target.baseUrl}) from ${options.archiveKey ?? `backup "${options.backup ?? ''}"`}; the appliance will reboot`);
  const outcome = await runWithTransfer(io, 'UploadBackup', (onEvent) =>
    runLifecycle({
      lifecycle: lifecycleFor(target.kind, 'restore'),
      input: { target: target.name, ...selection, confirm: options.confirm, ...(options.allowVersionMismatch ? { allowVersionMismatch: true } : {}) },
      onEvent,
    }),
  );
  if (!outcome.succeeded) return reportFailure(io, `Restore of appliance ${target.name}`, outcome);
  const output = outcome.output as ApplianceRestoreOutput;
  const { plan } = output;
  io.out(`restored appliance ${target.name} from backup ${plan.backup.backupId} (made ${plan.backup.backupTime ?? 'at an unknown time'}, software ${plan.backup.swVersion ?? 'unknown'})`);
  io.out(
    plan.mode === 'in-place'
      ? '  the appliance still held the backup: restored in place'
      : `  uploaded from the archive (${plan.archive?.objectKey ?? '?'}, ${formatBytes(plan.archive?.sizeBytes ?? 0)}, sha256 ${plan.archive?.sha256 ?? '?'}) as appliance backup ${output.uploaded?.backupId ?? '?'}`,
  );
  if (plan.versionCheck === 'unknown') io.out('  warning: the appliance\'s software version could not be read, so it was not compared with the backup\'s');
  if (plan.versionCheck === 'mismatch-allowed') io.out(`  warning: restored across software versions (backup ${plan.backup.swVersion ?? '?'}, appliance ${plan.applianceVersion ?? '?'}), as allowed`);
  const finishedAt = output.restore.lastRestoreTime ? new Date(output.restore.lastRestoreTime * 1000).toISOString() : 'an unreported time';
  io.out(
    `  the appliance rebooted (${output.restore.unreachableChecks} check(s) found it unreachable) and reports the restore completed (restore started ${finishedAt})` +
      (output.restore.statusMessage ? `: ${output.restore.statusMessage}` : ''),
  );
  return { exitCode: 0 };
}

export async function listCommand(config: OffsiteConfig, targetName: string, io: CliIo, options: { json?: boolean; now?: Date } = {}): Promise<CommandResult & { listing: ArchiveListing }> {
  const target = findTarget(config, targetName);
  const listing = await listArchivedCopies(archiveClient(config.archive), config.archive.bucket, config.archive.prefix, target.name);
  const now = options.now ?? new Date();
  if (options.json) {
    io.out(JSON.stringify({ target: target.name, bucket: config.archive.bucket, ...listing }));
    return { exitCode: 0, listing };
  }
  if (listing.copies.length === 0) {
    io.out(`No archived copies of ${target.name} in s3://${config.archive.bucket}/${config.archive.prefix}${target.name}/`);
  } else {
    io.out(['CREATED (vendor)'.padEnd(26), 'AGE'.padEnd(6), 'SIZE'.padEnd(11), 'SHA256'.padEnd(64), 'SOURCE BACKUP', 'KEY'].join('  '));
    for (const copy of listing.copies) {
      const { manifest } = copy;
      io.out(
        [
          manifest.createdAt.padEnd(26),
          formatAge(new Date(manifest.createdAt), now).padEnd(6),
          formatBytes(manifest.sizeBytes).padEnd(11),
          manifest.sha256,
          manifest.sourceBackupId,
          `${manifest.objectKey}${copy.objectMatchesManifest ? '' : '  (OBJECT MISSING OR WRONG SIZE)'}`,
        ].join('  '),
      );
    }
  }
  for (const key of listing.withoutManifest) io.err(`warning: ${key} has no manifest and is not a backup`);
  for (const key of listing.unreadableManifests) io.err(`warning: manifest ${key} cannot be read`);
  return { exitCode: 0, listing };
}

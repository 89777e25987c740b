import { lifecycleFor } from '../../functions/catalog';
import { listArchivedCopies, type ArchiveListing } from '../../functions/archive/catalog';
import { findTarget, loadConfigFile } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
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


function reportFailure(io: CliIo, what: string, outcome: LifecycleOutcome): CommandResult {
  io.err(`${what} failed: ${outcome.error ?? 'unknown error'}`);
  const cause = plainCause(outcome.cause);
  if (cause) io.err(`  ${cause}`);
  return { exitCode: 1 };
}

export interface ArchivedResult {
  readonly objectKey: string;
  readonly manifestKey: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly sourceChecksumVerified: boolean;
}

export async function backupCommand(
  config: OffsiteConfig,
  targetName: string,
  io: CliIo,
  options: { json?: boolean } = {},
): Promise<CommandResult & { archived?: ArchivedResult }> {
  const target = findTarget(config, targetName);
  const lifecycle = lifecycleFor(target.kind, 'backup');
  io.err(`Backing up ${target.name} (${target.kind}) into s3://${config.archive.bucket}/${config.archive.prefix}${target.name}/`);
  const progress = copyProgressReporter(io.errStream);
  listenToCopyProgress(progress.onProgress);
  // Ctrl-C during the copy cancels it, so its multipart upload is aborted and the backup
  // fails normally; at any other moment (or a second time) it quits at once.
  const cancel = new AbortController();
  cancelCopiesWith(cancel.signal);
  let copying = false;
  const report = stateReporter(io.err);
  const onEvent = (event: LifecycleEvent): void => {
    if (event.type === 'state-entered') copying = event.state === 'CopyToArchive';
    report(event);
  };
  const onInterrupt = (): void => {
    if (!copying || cancel.signal.aborted) process.exit(130);
    io.err('Cancelling the copy and aborting its upload (press Ctrl-C again to quit at once)…');
    cancel.abort();
  };
  process.on('SIGINT', onInterrupt);
  let outcome: LifecycleOutcome;
  try {
    outcome = await runLifecycle({
      lifecycle,
      input: { target: target.name },
      onEvent,
    });
  } finally {
    process.off('SIGINT', onInterrupt);
    cancelCopiesWith(undefined);
    progress.stop();
    listenToCopyProgress(undefined);
  }
  if (!outcome.succeeded) return reportFailure(io, `Backup of ${target.name}`, outcome);
  const archived = (outcome.output as { archive: ArchivedResult }).archive;
  if (options.json) {
    io.out(JSON.stringify({ target: target.name, bucket: config.archive.bucket, ...archived }));
  } else {
    io.out(`archived ${target.name}: ${archived.objectKey}`);
    io.out(`  bucket    ${config.archive.bucket}`);
    io.out(`  manifest  ${archived.manifestKey}`);
    io.out(`  size      ${archived.sizeBytes} bytes (${formatBytes(archived.sizeBytes)})`);
    io.out(`  sha256    ${archived.sha256}`);
    io.out(`  vendor checksum ${archived.sourceChecksumVerified ? 'verified' : 'not comparable (recorded in the manifest)'}`);
  }
  return { exitCode: 0, archived };
}

export interface RestoreCommandOptions {
  readonly backup: string;
  readonly to?: string;
  readonly confirm: string;
}

export async function restoreCommand(config: OffsiteConfig, targetName: string, io: CliIo, options: RestoreCommandOptions): Promise<CommandResult> {
  const target = findTarget(config, targetName);
  const lifecycle = lifecycleFor(target.kind, 'restore');
  const targetInstanceId = options.to ?? target.instanceId;
  if (!options.backup) throw new InvalidInput('--backup is required: a backup id, or "latest".');
  io.err(`Restoring ${target.name} backup "${options.backup}" onto ${targetInstanceId}`);
  const outcome = await runLifecycle({
    lifecycle,
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

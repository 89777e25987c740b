import { lifecycleFor } from '../../functions/catalog';
import { listArchivedCopies, type ArchivedCopy, type ArchiveListing } from '../../functions/archive/listing';
import { keyInPlace, primaryPlace, secondaryPlace, type ArchivePlace } from '../../functions/archive/places';
import type { SecondaryCopyStepResult } from '../../functions/archive/secondary-copy';
import { secondaryHolding, secondaryView, type SecondaryHolding } from '../../functions/archive/secondary-holding';
import { archivesCopies } from '../../functions/archive/status';
import { readVerifications } from '../../functions/archive/verify-records';
import { readProtections } from '../../functions/archive/prune-protection';
import { findTarget, loadConfigFile } from '../../functions/config/load';
import type { OffsiteConfig, TargetConfig } from '../../functions/config/schema';
import type { RestoreOption, RestoreOptions } from '../../functions/kinds/kind';
import { kindOf } from '../../functions/kinds/registry';
import { archiveClient } from '../../functions/runtime/archive-client';
import { CONFIG_OBJECT_ENV, forgetRuntimeConfig } from '../../functions/runtime/config-source';
import { cancelCopiesWith, listenToCopyProgress } from '../../functions/runtime/progress';
import { InvalidInput } from '../../functions/shared/errors';
import type { SharedOutcomeName as OutcomeName } from '../../functions/shared/outcomes';
import type { LifecycleEvent, LifecycleOutcome } from '../local/local-runner';
import { formatAge, formatBytes, plainCause } from './format';
import { kindCommandsOf } from './kind-commands';
import { LOCAL_RUNNER, type LifecycleRunner } from './lifecycle-runner';
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
  delete process.env[CONFIG_OBJECT_ENV];
  forgetRuntimeConfig();
  return config;
}


/** The functions log them too, but their logs are silent on the command line unless --verbose. */
function warnAbout(target: TargetConfig, io: CliIo): void {
  for (const warning of kindOf(target).warnings(target)) io.err(`WARNING: ${warning}`);
}

function reportFailure(io: CliIo, what: string, outcome: LifecycleOutcome): CommandResult {
  io.err(`${what} failed: ${outcome.error ?? 'unknown error'}`);
  const cause = plainCause(outcome.cause);
  if (cause) io.err(`  ${cause}`);
  return { exitCode: 1 };
}

/** The outcome after which a backup's copy is archived and verified although the execution failed. */
const PRUNE_FAILED: OutcomeName = 'PruneFailed';
/** Likewise: the copy is verified, only retention could not remove every old copy from the archive. */
const ARCHIVE_PRUNE_FAILED: OutcomeName = 'ArchivePruneFailed';
/** Likewise: the copy is verified in the primary, only its copy to the secondary failed (the catch-up makes it). */
const SECONDARY_COPY_FAILED: OutcomeName = 'SecondaryCopyFailed';

/** What a backup lifecycle holds at its end: the archived copy, and what the vendor step had to do to make the backup. */
interface BackupState {
  readonly archive: ArchivedResult;
  /** CopyToSecondary's result; absent in a lifecycle without it. */
  readonly secondaryCopy?: SecondaryCopyStepResult;
  readonly backup?: { readonly notes?: readonly string[]; readonly warnings?: readonly string[] };
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
  transferState: string | undefined,
  run: (onEvent: (event: LifecycleEvent) => void) => Promise<LifecycleOutcome>,
  runner: LifecycleRunner = LOCAL_RUNNER,
): Promise<LifecycleOutcome> {
  // A remote run's copy happens in AWS: nothing to cancel here, and its runner owns Ctrl-C.
  if (runner.where === 'remote') return run(stateReporter(io.err));
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
  runner: LifecycleRunner = LOCAL_RUNNER,
): Promise<CommandResult & { archived?: ArchivedResult }> {
  const target = findTarget(config, targetName);
  const lifecycle = lifecycleFor(target.kind, 'backup');
  warnAbout(target, io);
  const archiveUrl = `s3://${config.archive.bucket}/${config.archive.prefix}${target.name}/`;
  io.err(kindOf(target).backup?.announce(target, archiveUrl) ?? `Backing up ${target.name} (${target.kind}) into ${archiveUrl}`);
  const outcome = await runWithTransfer(io, kindOf(target).transferStates.backup, (onEvent) => runner.run({ lifecycle, input: { target: target.name }, targetName: target.name, onEvent }), runner);
  // PruneFailed: the copy is archived and verified, only the vendor-side housekeeping
  // after it failed. The execution stays failed (so the alarms see it); the command
  // reports the copy and exits 0 with a warning.
  // SecondaryCopyFailed likewise: the copy is verified in the primary, only its second copy failed.
  const pruneFailed = !outcome.succeeded && (outcome.error === PRUNE_FAILED || outcome.error === ARCHIVE_PRUNE_FAILED);
  const secondaryFailed = !outcome.succeeded && outcome.error === SECONDARY_COPY_FAILED;
  if (!outcome.succeeded && !pruneFailed && !secondaryFailed) return reportFailure(io, `Backup of ${target.name}`, outcome);
  const state = (outcome.succeeded ? outcome.output : outcome.failedWith) as BackupState;
  const notes = [
    ...(state.backup?.notes ?? []),
    ...(pruneFailed ? [plainCause(outcome.cause) || 'pruning failed'] : []),
    ...(secondaryFailed ? [plainCause(outcome.cause) || 'the copy to the secondary failed'] : []),
  ];
  // The run succeeded, but the vendor's API misbehaved on the way: say so where a person sees it.
  const warnings = state.backup?.warnings ?? [];
  for (const warning of warnings) io.err(`warning: ${warning}`);
  const warned = warnings.length > 0 ? { warnings } : {};
  // A kind whose backups stay at the vendor (vps) reports its own result instead of a copy.
  const summary = kindOf(target).backup?.summarize(target, state);
  if (summary) {
    if (pruneFailed) io.err(`warning: ${target.name}'s backup is made and catalogued, but pruning failed (PruneFailed)`);
    if (options.json) io.out(JSON.stringify({ ...summary.json, notes, ...warned, ...(pruneFailed ? { pruneFailed: true } : {}) }));
    else for (const line of [...summary.lines, ...notes.map((note) => `  note      ${note}`)]) io.out(line);
    return { exitCode: 0 };
  }
  const archived = state.archive;
  if (pruneFailed) io.err(`warning: ${target.name} is archived and verified, but pruning failed (${outcome.error ?? PRUNE_FAILED})`);
  if (secondaryFailed) io.err(`warning: ${target.name} is archived and verified in the primary, but its copy to the secondary failed (${SECONDARY_COPY_FAILED}); the scheduled catch-up copies it`);
  const second = secondaryCopyOf(state, secondaryFailed);
  if (options.json) {
    io.out(JSON.stringify({ target: target.name, bucket: config.archive.bucket, ...archived, ...second.json, notes, ...warned, ...(pruneFailed ? { pruneFailed: true } : {}) }));
  } else {
    io.out(`archived ${target.name}: ${archived.objectKey}`);
    io.out(`  bucket    ${config.archive.bucket}`);
    io.out(`  manifest  ${archived.manifestKey}`);
    io.out(`  size      ${archived.sizeBytes} bytes (${formatBytes(archived.sizeBytes)})`);
    io.out(`  sha256    ${archived.sha256}`);
    io.out(`  vendor checksum ${archived.sourceChecksumVerified ? 'verified' : 'not comparable (recorded in the manifest)'}`);
    if (second.line) io.out(second.line);
    for (const note of notes) io.out(`  note      ${note}`);
  }
  return { exitCode: 0, archived };
}

/** The backup's line and JSON field for its second copy; nothing when no secondary is configured. */
function secondaryCopyOf(state: BackupState, failed: boolean): { line?: string; json: { secondary?: unknown; secondaryCopyFailed?: true } } {
  if (failed) return { line: '  second copy failed (the scheduled catch-up copies it)', json: { secondary: null, secondaryCopyFailed: true } };
  const copied = state.secondaryCopy?.secondary;
  if (!copied) return { json: {} };
  return { line: `  second copy ${copied.url} verified${copied.alreadyThere ? ' (already there)' : ''}`, json: { secondary: copied } };
}

export interface RestoreCommandOptions extends RestoreOptions {
  readonly confirm: string;
}

const OPTION_FLAGS: Record<RestoreOption, string> = { backup: '--backup', archiveKey: '--archive-key', to: '--to', allowVersionMismatch: '--allow-version-mismatch' };

/** The kind's restore rules; a kind without any (netbox-proxbox only audits) is refused, naming it (exit 2). */
function restoreRulesOf<T extends TargetConfig>(target: T): NonNullable<ReturnType<typeof kindOf<T>>['restore']> {
  const rules = kindOf(target).restore;
  if (!rules) throw new InvalidInput(`restore is not available for ${target.kind} targets (${target.name}): offsite makes no backups of them, there is nothing to restore.`);
  return rules;
}

/** What a restore overwrites, and so what the operator must type to confirm it. */
export function restoreDestination(target: TargetConfig, to: string | undefined): string {
  return restoreRulesOf(target).destination(target, to);
}

export async function restoreCommand(config: OffsiteConfig, targetName: string, io: CliIo, options: RestoreCommandOptions, runner: LifecycleRunner = LOCAL_RUNNER): Promise<CommandResult> {
  const target = findTarget(config, targetName);
  const kind = { ...kindOf(target), restore: restoreRulesOf(target) };
  if ((options.backup === undefined) === (options.archiveKey === undefined)) {
    throw new InvalidInput(
      kind.restore.options.includes('archiveKey') ? 'Give exactly one of --backup <id|latest> or --archive-key <key>.' : 'Give --backup <id|latest>.',
    );
  }
  for (const option of Object.keys(OPTION_FLAGS) as RestoreOption[]) {
    if (options[option] !== undefined && !kind.restore.options.includes(option)) {
      throw new InvalidInput(`${OPTION_FLAGS[option]} is not available for ${target.kind} targets (${target.name}); they take ${kind.restore.options.map((name) => OPTION_FLAGS[name]).join(', ')}.`);
    }
  }
  const destination = kind.restore.destination(target, options.to);
  warnAbout(target, io);
  io.err(kind.restore.announce(target, options, destination));
  const outcome = await runWithTransfer(
    io,
    kind.transferStates.restore,
    (onEvent) => runner.run({ lifecycle: lifecycleFor(target.kind, 'restore'), input: kind.restore.input(target, options, options.confirm), targetName: target.name, onEvent }),
    runner,
  );
  if (!outcome.succeeded) return reportFailure(io, `Restore of ${target.name} onto ${destination}`, outcome);
  for (const line of kind.restore.summarize(target, outcome.output, destination)) io.out(line);
  return { exitCode: 0 };
}

/** What the secondary holds of the target's copies, for `list` (undefined without a secondary). */
interface SecondaryListing {
  readonly place: ArchivePlace;
  readonly listing: ArchiveListing;
  /** Per primary copy key. */
  readonly holdings: ReadonlyMap<string, SecondaryHolding>;
  /** Copies the secondary holds whose primary copy is gone (a restore can still use them). */
  readonly onlyThere: readonly ArchivedCopy[];
}

async function listSecondary(config: OffsiteConfig, target: TargetConfig, primary: ArchiveListing): Promise<SecondaryListing | undefined> {
  // Backups the provider holds (vps) and audits have nothing in the secondary.
  const place = archivesCopies(target) ? await secondaryPlace(config) : undefined;
  if (!place) return undefined;
  const [listing, records] = await Promise.all([listArchivedCopies(place.s3, place.bucket, place.prefix, target.name), readVerifications(place.s3, place.bucket, place.prefix, target.name)]);
  const from = primaryPlace(config);
  const view = secondaryView(from, place, listing.copies, records);
  const holdings = new Map(primary.copies.map((copy) => [copy.manifest.objectKey, secondaryHolding(copy, view)]));
  const counterparts = new Set(primary.copies.map((copy) => keyInPlace(copy.manifest.objectKey, from, place)));
  return { place, listing, holdings, onlyThere: listing.copies.filter((copy) => !counterparts.has(copy.manifest.objectKey)) };
}

export async function listCommand(config: OffsiteConfig, targetName: string, io: CliIo, options: { json?: boolean; now?: Date } = {}): Promise<CommandResult & { listing: ArchiveListing }> {
  const target = findTarget(config, targetName);
  const listing = await listArchivedCopies(archiveClient(config.archive), config.archive.bucket, config.archive.prefix, target.name);
  const now = options.now ?? new Date();
  // A kind whose vendor holds backups (vps) also shows what the vendor lists.
  const extra = await kindCommandsOf(target).list?.(config, target, listing, now);
  // Retention never removes a protected copy, so the listing says which are.
  const copyKeys = listing.copies.map((copy) => copy.manifest.objectKey);
  const protections = await readProtections(archiveClient(config.archive), config.archive.bucket, copyKeys, config.archive.objectLock !== undefined);
  const secondary = await listSecondary(config, target, listing);
  if (options.json) {
    const protectedKeys = copyKeys.filter((key) => protections.get(key)?.protected === true);
    // With a secondary: each copy says whether the secondary holds it, and `secondary` has what only it holds.
    const copies = secondary ? listing.copies.map((copy) => ({ ...copy, secondary: secondary.holdings.get(copy.manifest.objectKey) ?? 'missing' })) : listing.copies;
    const secondaryJson = secondary
      ? { secondary: { bucket: secondary.place.bucket, prefix: secondary.place.prefix, copiesOnlyThere: secondary.onlyThere, withoutManifest: secondary.listing.withoutManifest, unreadableManifests: secondary.listing.unreadableManifests } }
      : {};
    io.out(JSON.stringify({ target: target.name, bucket: config.archive.bucket, ...listing, copies, protected: protectedKeys, ...secondaryJson, ...extra?.json }));
    return { exitCode: 0, listing };
  }
  const row = (copy: ArchivedCopy, secondaryCell: string | undefined, key: string): string => {
    const { manifest } = copy;
    return [
      manifest.createdAt.padEnd(26),
      formatAge(new Date(manifest.createdAt), now).padEnd(6),
      formatBytes(manifest.sizeBytes).padEnd(11),
      manifest.sha256,
      manifest.sourceBackupId,
      ...(secondaryCell === undefined ? [] : [secondaryCell.padEnd(9)]),
      key,
    ].join('  ');
  };
  if (listing.copies.length === 0) {
    io.out(`No archived copies of ${target.name} in s3://${config.archive.bucket}/${config.archive.prefix}${target.name}/`);
  } else {
    io.out(['CREATED (vendor)'.padEnd(26), 'AGE'.padEnd(6), 'SIZE'.padEnd(11), 'SHA256'.padEnd(64), 'SOURCE BACKUP', ...(secondary ? ['SECONDARY'] : []), 'KEY'].join('  '));
    for (const copy of listing.copies) {
      const { manifest } = copy;
      const holding = secondary ? (secondary.holdings.get(manifest.objectKey) ?? 'missing') : undefined;
      io.out(row(copy, holding, `${manifest.objectKey}${copy.objectMatchesManifest ? '' : '  (OBJECT MISSING OR WRONG SIZE)'}${protections.get(manifest.objectKey)?.protected ? '  (protected)' : ''}`));
    }
  }
  if (secondary && secondary.onlyThere.length > 0) {
    io.out(`Held only in the secondary (${secondary.place.url}), not in the primary:`);
    for (const copy of secondary.onlyThere) io.out(row(copy, 'only here', `${copy.manifest.objectKey}${copy.objectMatchesManifest ? '' : '  (OBJECT MISSING OR WRONG SIZE)'}`));
  }
  for (const line of extra?.lines ?? []) io.out(line);
  for (const warning of extra?.warnings ?? []) io.err(warning);
  for (const key of listing.withoutManifest) io.err(`warning: ${key} has no manifest and is not a backup`);
  for (const key of listing.unreadableManifests) io.err(`warning: manifest ${key} cannot be read`);
  for (const key of secondary?.listing.withoutManifest ?? []) io.err(`warning: ${key} in the secondary has no manifest and is not a backup`);
  for (const key of secondary?.listing.unreadableManifests ?? []) io.err(`warning: manifest ${key} in the secondary cannot be read`);
  return { exitCode: 0, listing };
}

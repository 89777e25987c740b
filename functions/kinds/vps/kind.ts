import { InvalidInput } from '../../shared/errors';
import { formatBytes } from '../../shared/format';
import { API_CALL } from '../function-defaults';
import type { KindDefinition } from '../kind';
import { vpsTargetSchema, type VpsTarget } from './config';
import { vpsDrill } from './drill';
import * as errors from './errors';

const call = { ...API_CALL, network: 'internet' } as const;
const handler = (name: string): string => `functions/kinds/vps/handlers/${name}.ts`;

/** Said wherever these backups are shown (records.ts keeps the same words in the record). */
const HELD = 'held by the provider, not off-site';

interface BackupOutput {
  readonly record: { readonly manifestKey: string; readonly sourceBackupId: string; readonly sourceType: string; readonly createdAt: string; readonly expiresAt: string | null; readonly sizeBytes: number | null };
  /** The plan: what retention let go and how many it kept. */
  readonly retention?: { readonly remove: readonly unknown[]; readonly kept: number };
  /** What RemoveOwnBackups did, one entry per backup removed (absent when it failed or did not run). */
  readonly pruned?: readonly unknown[];
}

interface RestoreOutput {
  readonly backup: { readonly backupId: number; readonly backupType: string; readonly createdAt: string };
  readonly restore: { readonly serverStatus: string | null; readonly checks: number; readonly note: string | null };
}

/** A VPS provider (`/api/v1/backups/`): manual backups made on offsite's schedule and catalogued, retention at the provider, restores through the servers API. */
export const vpsKind = {
  kind: 'vps',
  title: 'VPS provider',
  configSchema: vpsTargetSchema,
  credentialReferences: (target) => [{ field: 'credentials', ref: target.credentials, jsonKey: 'token', spacesAllowed: false }],
  warnings: () => [],
  functions: [
    { id: 'VpsCreateBackup', entry: handler('create-backup'), description: 'VPS provider: POST backups (a manual backup described as made by offsite)', ...call, creates: true },
    { id: 'VpsCheckBackup', entry: handler('check-backup'), description: 'VPS provider: read one backup from the server\'s manual backups', ...call, creates: false },
    { id: 'VpsRecordBackup', entry: handler('record-backup'), description: 'VPS provider: write the catalogue record of a provider-held backup into the archive', ...call, archive: 'write', creates: false },
    { id: 'VpsPlanRetention', entry: handler('plan-retention'), description: 'VPS provider: apply retention to the manual backups offsite made (its catalogue records)', ...call, archive: 'read', creates: false },
    { id: 'VpsDeleteOwnBackup', entry: handler('delete-own-backup'), description: 'VPS provider: DELETE one offsite-made backup, then its catalogue record', ...call, archive: 'write', creates: false },
    { id: 'VpsResolveBackup', entry: handler('resolve-backup'), description: 'VPS provider: resolve a backup id or "latest" for the server', ...call, creates: false },
    { id: 'VpsRequestRestore', entry: handler('request-restore'), description: 'VPS provider: POST servers/{id}/restore', ...call, creates: true },
    { id: 'VpsCheckRestore', entry: handler('check-restore'), description: 'VPS provider: read the server\'s status while it restores', ...call, creates: false },
  ],
  lifecycles: [
    { id: 'VpsBackup', purpose: 'backup', definitionFile: 'state-machines/vps-backup.asl.json', timeoutHours: 24 },
    { id: 'VpsRestore', purpose: 'restore', definitionFile: 'state-machines/vps-restore.asl.json', timeoutHours: 24 },
  ],
  transferStates: { backup: undefined, restore: undefined },
  alarmHints: {
    backupFailed:
      "(NotAuthorized / CredentialsUnavailable = check the target's secret (the provider's API token); ServerNotFound = check serverId; " +
      'ProviderBackupFailed = the provider failed it, see its words; BackupTimedOut = not completed in poll.timeoutMinutes; ' +
      'RequestOutcomeUnknown = unclear answer, no backup with our description listed: check the provider panel first; ' +
      'stopped in PruneFailed = the backup IS made and catalogued, only retention at the provider failed). Held by the provider, not off-site.',
    backupTimedOut: 'usually the provider never completing the manual backup. Check the backup in the provider panel',
    restoreFailed:
      '(RestoreNotConfirmed / InvalidInput = nothing was touched, fix the input; BackupNotFound / BackupNotRestorable = no such backup, another server\'s, or not completed: nothing was restored; ' +
      'RestoreInProgress = the provider says the server is already restoring; RestoreFailed = the server reports the restore failed, see its words; ' +
      'RestoreTimedOut = the server did not report the restore finished within poll.timeoutMinutes; RequestOutcomeUnknown = the restore may or may not have started: check the server first).',
    restoreStillRunning: 'The VPS provider may still be restoring the server: check the server\'s status in the provider panel before starting another restore',
  },
  restore: {
    options: ['backup'],
    // The servers API restores a server from its own backups: there is no other server to name.
    destination: (target, to) => {
      if (to !== undefined) throw new InvalidInput(`--to is not available for vps targets: a restore goes onto ${target.name}'s own server (${target.serverId}).`);
      return target.name;
    },
    input: (target, options, confirm) => ({ target: target.name, backupId: options.backup ?? '', confirm }),
    announce: (target, options) =>
      `Restoring ${target.name} (server ${target.serverId} at ${new URL(target.baseUrl).host}) from provider backup "${options.backup ?? ''}"; the server's disk is overwritten`,
    summarize: (target, output) => {
      const { backup, restore } = output as RestoreOutput;
      return [
        `restored ${target.name} (server ${target.serverId}) from ${backup.backupType} backup ${backup.backupId} (created ${backup.createdAt}, ${HELD})`,
        `  the server reports "${restore.serverStatus ?? '?'}" after ${restore.checks} check(s)${restore.note ? `; ${restore.note}` : ''}`,
      ];
    },
  },
  backup: {
    announce: (target, archiveUrl) => `Backing up ${target.name} (vps server ${target.serverId}) at the provider — ${HELD}; its catalogue record goes into ${archiveUrl}`,
    summarize: (target, output) => {
      const { record, retention, pruned } = output as BackupOutput;
      // Counted from what the removals did, never from the plan: a prune that failed removed nothing it can vouch for.
      const removed = pruned?.length ?? 0;
      const notRemoved = (retention?.remove.length ?? 0) - removed;
      return {
        json: { target: target.name, storage: 'provider', heldBy: HELD, serverId: target.serverId, ...record, objectKey: null, sha256: null, ...(retention ? { retention: { ...retention, removed, notRemoved } } : {}) },
        lines: [
          `made ${target.name}: provider backup ${record.sourceBackupId} (${record.sourceType}) — ${HELD}`,
          `  record    ${record.manifestKey}`,
          `  size      ${record.sizeBytes === null ? 'not reported' : formatBytes(record.sizeBytes)}`,
          `  created   ${record.createdAt}`,
          `  expires   ${record.expiresAt ?? 'never (manual backups do not expire; offsite\'s retention removes them)'}`,
          ...(retention
            ? [
                `  retention ${removed} offsite-made backup(s) removed at the provider, ${retention.kept} kept` +
                  (notRemoved > 0 ? `; ${notRemoved} due for removal not confirmed removed (tried again after the next backup)` : ''),
              ]
            : []),
        ],
      };
    },
  },
  drill: vpsDrill,
  cli: 'functions/kinds/vps/cli.ts',
  errors,
} as const satisfies KindDefinition<VpsTarget>;

import { InvalidInput } from '../../shared/errors';
import { formatBytes } from '../../shared/format';
import { API_CALL, COPY_NODE_OPTIONS, STREAMING, copyToArchiveFunction } from '../function-defaults';
import type { CredentialReference, KindDefinition } from '../kind';
import { applianceTargetSchema, type ApplianceTarget } from './config';
import { applianceDrill } from './drill';
import * as errors from './errors';
import { APPLIANCE_OUTCOMES } from './outcomes';
import type { RestorePlan } from './restore-plan';

const call = { ...API_CALL, network: 'private-network' } as const;
const handler = (name: string): string => `functions/kinds/appliance/handlers/${name}.ts`;

interface RestoreOutput {
  readonly plan: RestorePlan;
  readonly uploaded?: { readonly backupId: string };
  /** With a secondary configured: which place's copy was uploaded, and why not the primary's (UploadBackup's `source`). */
  readonly archiveSource?: { readonly place: string; readonly url: string; readonly objectKey: string; readonly reason: string | null };
  readonly restore: { readonly lastRestoreTime: number | null; readonly unreachableChecks: number; readonly statusMessage: string | null };
}

function credentialReferences(target: ApplianceTarget): CredentialReference[] {
  const { auth } = target;
  // A password travels in a JSON body or base64-encoded, where spaces are fine.
  const login: CredentialReference =
    auth.method === 'oauth2'
      ? { field: 'auth.secret', ref: auth.secret, jsonKey: 'secret', spacesAllowed: false }
      : { field: 'auth.password', ref: auth.password, jsonKey: 'password', spacesAllowed: true };
  const ca = target.tls?.ca;
  return [login, ...(ca && 'secret' in ca ? [{ field: 'tls.ca', ref: { secret: ca.secret }, jsonKey: undefined, spacesAllowed: true }] : [])];
}

/** Riverbed-style appliances (`/api/npm.backup/1.0`): backups streamed off the box, restores in place or by upload, through the reboot. */
export const applianceKind = {
  kind: 'appliance',
  title: 'appliance',
  configSchema: applianceTargetSchema,
  credentialReferences,
  warnings: (target) =>
    target.tls?.dangerouslyDisableCertificateVerification
      ? [`TLS certificate verification is OFF for ${target.name} (tls.dangerouslyDisableCertificateVerification): anyone on the path can read its credentials and backups.`]
      : [],
  functions: [
    { id: 'ApplianceCreateBackup', entry: handler('create-backup'), description: 'Appliance: POST backups (on a full disk, first deletes an offsite-made backup with a verified archive copy)', ...call, archive: 'read', creates: true },
    { id: 'ApplianceCheckBackup', entry: handler('check-backup'), description: 'Appliance: read one backup', ...call, creates: false },
    copyToArchiveFunction('ApplianceCopyToArchive', handler('copy-to-archive'), 'Streams an appliance backup file into the archive bucket and writes its manifest', 'private-network'),
    { id: 'AppliancePlanPrune', entry: handler('plan-prune'), description: 'Appliance: choose offsite-made backups to delete (only with a verified archive copy)', ...call, archive: 'read', creates: false },
    { id: 'ApplianceDeleteBackup', entry: handler('delete-backup'), description: 'Appliance: DELETE one backup', ...call, creates: false },
    { id: 'ApplianceResolveRestore', entry: handler('resolve-restore'), description: 'Appliance: choose the backup to restore, in place or from the archive (a drill first deletes its earlier uploads from the lab box)', ...call, archive: 'read', secondary: 'read', creates: false },
    {
      id: 'ApplianceUploadBackup',
      entry: handler('upload-backup'),
      description: 'Streams an archived backup from the archive bucket to the appliance (backups/upload)',
      ...STREAMING,
      archive: 'read',
      // Reads the secondary's copy when the primary's is missing or fails verification.
      secondary: 'read',
      nodeOptions: COPY_NODE_OPTIONS,
      network: 'private-network',
      creates: true,
    },
    { id: 'ApplianceReadRestoreStatus', entry: handler('read-restore-status'), description: 'Appliance: read restore_status before a restore', ...call, creates: false },
    { id: 'ApplianceRequestRestore', entry: handler('request-restore'), description: 'Appliance: POST backups/items/{id}/restore', ...call, creates: true },
    { id: 'ApplianceCheckRestore', entry: handler('check-restore'), description: 'Appliance: read restore_status through the reboot', ...call, creates: false },
  ],
  lifecycles: [
    { id: 'ApplianceBackup', purpose: 'backup', definitionFile: 'state-machines/appliance-backup.asl.json', timeoutHours: 24 },
    { id: 'ApplianceRestore', purpose: 'restore', definitionFile: 'state-machines/appliance-restore.asl.json', timeoutHours: 24 },
  ],
  transferStates: { backup: 'CopyToArchive', restore: 'UploadBackup' },
  alarmHints: {
    backupFailed:
      "(NotAuthorized / CredentialsUnavailable = check the auth secret and the user's rights; TransientApiError = no answer " +
      '(appliance down? "network" subnets/security groups? tls.ca?); ApplianceBackupFailed = the appliance failed it, see its message; ' +
      'ApplianceStorageFull = no room (nothing offsite archived could go); DownloadStalled = no bytes for 60 s; BackupTimedOut = not done within poll.timeoutMinutes; CopyVerificationFailed = the download did not match, nothing was kept; ' +
      'PruneFailed / SecondaryCopyFailed = the copy IS archived, only deleting older appliance backups / the second copy failed).',
    backupTimedOut: 'usually the appliance never finishing its backup, or not answering. Check the appliance web UI',
    restoreFailed:
      '(RestoreNotConfirmed / InvalidInput = nothing was touched, fix the input; SoftwareVersionMismatch = the backup was made on other software than the appliance runs; ' +
      'ArchivedCopyUnusable = no archived copy of the backup matched its manifest in any place (each named with what was wrong), nothing was uploaded or restored; ' +
      'UploadTimedOut = the archived copy was not accepted, nothing was restored; RestoreFailed = the appliance reported the restore failed; ' +
      'RebootWindowExceeded / RestoreTimedOut = the appliance did not come back or report within restore.rebootWindowMinutes / poll.timeoutMinutes, check its console).',
    restoreStillRunning: 'The appliance may still be restoring or rebooting: check its console, web UI and restore status',
  },
  restore: {
    options: ['backup', 'archiveKey', 'allowVersionMismatch'],
    optionHelp: {
      archiveKey: 'appliances: the archived copy to restore (an object key from `offsite list`)',
      allowVersionMismatch: 'appliances: restore even when the backup was made on other software than the appliance runs',
    },
    // A restore goes onto the appliance itself: there is no other instance to name.
    destination: (target, to) => {
      if (to !== undefined) throw new InvalidInput(`--to is not available for appliance targets: a restore goes onto the appliance "${target.name}" itself.`);
      return target.name;
    },
    input: (target, options, confirm) => ({
      target: target.name,
      ...(options.archiveKey !== undefined ? { archiveKey: options.archiveKey } : { backupId: options.backup ?? '' }),
      confirm,
      ...(options.allowVersionMismatch ? { allowVersionMismatch: true } : {}),
    }),
    announce: (target, options) =>
      `Restoring appliance ${target.name} (${target.baseUrl}) from ${options.archiveKey ?? `backup "${options.backup ?? ''}"`}; the appliance will reboot`,
    summarize: (target, output) => {
      const { plan, uploaded, restore, archiveSource } = output as RestoreOutput;
      const startedAt = restore.lastRestoreTime ? new Date(restore.lastRestoreTime * 1000).toISOString() : 'an unreported time';
      return [
        `restored appliance ${target.name} from backup ${plan.backup.backupId} (made ${plan.backup.backupTime ?? 'at an unknown time'}, software ${plan.backup.swVersion ?? 'unknown'})`,
        plan.mode === 'in-place'
          ? '  the appliance still held the backup: restored in place'
          : `  uploaded from the archive (${archiveSource?.objectKey ?? plan.archive?.objectKey ?? '?'}, ${formatBytes(plan.archive?.sizeBytes ?? 0)}, sha256 ${plan.archive?.sha256 ?? '?'}) as appliance backup ${uploaded?.backupId ?? '?'}`,
        // A restore that did not use the primary's copy says so, and why.
        ...(archiveSource && archiveSource.place !== 'primary'
          ? [`  restored from the ${archiveSource.place} copy (${archiveSource.url}): ${archiveSource.reason ?? 'the primary copy was not used'}`]
          : []),
        ...(plan.versionCheck === 'unknown' ? ["  warning: the appliance's software version could not be read, so it was not compared with the backup's"] : []),
        ...(plan.versionCheck === 'mismatch-allowed'
          ? [`  warning: restored across software versions (backup ${plan.backup.swVersion ?? '?'}, appliance ${plan.applianceVersion ?? '?'}), as allowed`]
          : []),
        `  the appliance rebooted (${restore.unreachableChecks} check(s) found it unreachable) and reports the restore completed (restore started ${startedAt})` +
          (restore.statusMessage ? `: ${restore.statusMessage}` : ''),
      ];
    },
  },
  drill: applianceDrill,
  errors,
  outcomes: APPLIANCE_OUTCOMES,
} as const satisfies KindDefinition<ApplianceTarget>;

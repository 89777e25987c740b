import { API_CALL, copyToArchiveFunction } from '../function-defaults';
import type { KindDefinition } from '../kind';
import { netboxCloudTargetSchema, type NetboxCloudTarget } from './config';
import { netboxCloudDrill } from './drill';
import * as errors from './errors';
import { NETBOX_CLOUD_OUTCOMES } from './outcomes';

const call = { ...API_CALL, network: 'internet' } as const;
const handler = (name: string): string => `functions/kinds/netbox-cloud/handlers/${name}.ts`;

interface RestoreOutput {
  readonly backup: { readonly backupId: string; readonly createdAt: string };
  readonly restore: { readonly restoreJobId: string; readonly redeployedAt: string | null };
}

/** NetBox Cloud (Backups API v2): backups requested, retrieved and streamed into the archive; restores onto any instance. */
export const netboxCloudKind = {
  kind: 'netbox-cloud',
  title: 'NetBox Cloud',
  configSchema: netboxCloudTargetSchema,
  credentialReferences: (target) => [{ field: 'credentials', ref: target.credentials, jsonKey: 'apiKey', spacesAllowed: false }],
  warnings: () => [],
  functions: [
    { id: 'NetboxCloudRequestBackup', entry: handler('request-backup'), description: 'NetBox Cloud: POST backup-requests', ...call, creates: true },
    { id: 'NetboxCloudCheckBackupRequest', entry: handler('check-backup-request'), description: 'NetBox Cloud: read one backup request', ...call, creates: false },
    { id: 'NetboxCloudFindBackup', entry: handler('find-backup'), description: 'NetBox Cloud: find the backup a request produced', ...call, creates: false },
    { id: 'NetboxCloudRequestRetrieval', entry: handler('request-retrieval'), description: 'NetBox Cloud: POST backup-retrieved', ...call, creates: true },
    { id: 'NetboxCloudCheckRetrieval', entry: handler('check-retrieval'), description: 'NetBox Cloud: read one retrieval', ...call, creates: false },
    copyToArchiveFunction('NetboxCloudCopyToArchive', handler('copy-to-archive'), 'Streams a NetBox Cloud download into the archive bucket and writes its manifest', 'internet'),
    { id: 'NetboxCloudResolveBackup', entry: handler('resolve-backup'), description: 'NetBox Cloud: resolve a backup id or "latest"', ...call, creates: false },
    { id: 'NetboxCloudFindReusableRetrieval', entry: handler('find-reusable-retrieval'), description: 'NetBox Cloud: find a completed, unexpired retrieval', ...call, creates: false },
    { id: 'NetboxCloudRequestRestore', entry: handler('request-restore'), description: 'NetBox Cloud: POST backup-restore', ...call, creates: true },
    { id: 'NetboxCloudCheckRestore', entry: handler('check-restore'), description: 'NetBox Cloud: read one restore job', ...call, creates: false },
  ],
  lifecycles: [
    { id: 'NetboxCloudBackup', purpose: 'backup', definitionFile: 'state-machines/netbox-cloud-backup.asl.json', timeoutHours: 48 },
    { id: 'NetboxCloudRestore', purpose: 'restore', definitionFile: 'state-machines/netbox-cloud-restore.asl.json', timeoutHours: 48 },
  ],
  transferStates: { backup: 'CopyToArchive', restore: undefined },
  alarmHints: {
    backupFailed:
      "(NotAuthorized / CredentialsUnavailable = check the target's secret and the API key's permissions; BackupRequestFailed / RetrievalFailed = the vendor failed, check its console; " +
      '...TimedOut = the vendor did not finish within poll.timeoutMinutes; CopyVerificationFailed = the download did not match, nothing was kept; ' +
      'RequestOutcomeUnknown = unclear answer, nothing found: check NetBox Cloud first; InconsistentPagination = contradicting pages; ' +
      'DownloadUrlRefused = link to a refused address; DownloadStalled = no bytes for 60 s; SecondaryCopyFailed = archived, only the second copy failed).',
    backupTimedOut: 'usually the vendor backup or retrieval never completing. Check the NetBox Cloud status page/console',
    restoreFailed:
      "(RestoreNotConfirmed / InvalidInput = nothing was touched, fix the input; TargetVersionUnavailable = the instance cannot run that backup's version; " +
      'RestoreJobFailed / RestoreTimedOut = the vendor job failed or did not finish in poll.timeoutMinutes, check the NetBox Cloud console; ' +
      'RequestOutcomeUnknown = the restore may or may not have started: check its restore jobs before starting another).',
    restoreStillRunning: 'NetBox Cloud may still be restoring: check the restore job in the NetBox Cloud console and the instance itself',
  },
  restore: {
    options: ['backup', 'to'],
    optionHelp: { to: "NetBox Cloud: the instance to restore onto (default: the target's own instance)" },
    destination: (target, to) => to ?? target.instanceId,
    input: (target, options, confirm) => ({
      target: target.name,
      backupId: options.backup ?? '',
      targetInstanceId: options.to ?? target.instanceId,
      confirm,
    }),
    announce: (target, options, destination) => `Restoring ${target.name} backup "${options.backup ?? ''}" onto ${destination}`,
    summarize: (target, output, destination) => {
      const { backup, restore } = output as RestoreOutput;
      return [
        `restored ${target.name} backup ${backup.backupId} (created ${backup.createdAt}) onto ${destination}`,
        restore.redeployedAt
          ? `  restore job ${restore.restoreJobId} completed; instance redeployed at ${restore.redeployedAt}`
          : `  restore job ${restore.restoreJobId} completed; NetBox Cloud has not reported the redeploy (nb_redeployed) yet — check the instance`,
      ];
    },
  },
  drill: netboxCloudDrill,
  errors,
  outcomes: NETBOX_CLOUD_OUTCOMES,
} as const satisfies KindDefinition<NetboxCloudTarget>;

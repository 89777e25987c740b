import type { NetboxCloudTarget } from '../../functions/config/schema';
import type { Backup, RestoreJob } from '../../functions/netbox-cloud/client';
import { checkRestore, findProducedBackup, type BackupRequestState, type RestoreState } from '../../functions/netbox-cloud/lifecycle';
import { BackupNotFound, TargetVersionUnavailable, VendorApiError } from '../../functions/shared/errors';
import { startPoll } from '../../functions/shared/poll';

const target: NetboxCloudTarget = {
  name: 'netbox-prod',
  kind: 'netbox-cloud',
  baseUrl: 'https://api.netboxlabs.com',
  orgId: 'org-1',
  instanceId: 'nb-a12ff000777',
  credentials: { env: 'KEY' },
  poll: { initialSeconds: 15, maxSeconds: 300, timeoutMinutes: 180 },
  requestTimeoutSeconds: 30,
};

const request: BackupRequestState = {
  requestId: 'req-ours',
  requestedAt: '2026-03-21T08:38:17.000Z',
  status: 'completed',
  startedAt: '2026-03-21T08:38:18.000Z',
  completedAt: '2026-03-21T08:39:06.000Z',
  poll: startPoll(target.poll),
};

function backup(id: string, created: string, fields: Partial<Backup> = {}): Backup {
  return { id, obj_id: 'nb-a12ff000777', obj_type: 'netbox', trigger_id: '', trigger_type: 'manual', created, ...fields };
}

const listing = (backups: Backup[]) => ({ listBackups: async () => backups });
const clock = () => new Date('2026-03-21T09:00:00Z');

describe('findProducedBackup', () => {
  test('takes the backup whose trigger_id is the request, wherever it is listed', async () => {
    // Prepare
    const backups = [backup('other', '2026-03-21T08:38:30Z', { trigger_id: 'req-other' }), backup('ours', '2026-03-21T08:38:40Z', { trigger_id: 'req-ours' })];

    // Act / Assess
    await expect(findProducedBackup(listing(backups), target, request, clock)).resolves.toMatchObject({ backupId: 'ours' });
  });

  test('never adopts a backup another request produced when ours is listed late', async () => {
    // Prepare: the server names requests in trigger_id, and only someone else's backup is listed yet.
    const backups = [backup('theirs', '2026-03-21T08:38:40Z', { trigger_id: 'req-other' })];

    // Act / Assess
    await expect(findProducedBackup(listing(backups), target, request, clock)).rejects.toBeInstanceOf(BackupNotFound);
  });

  test('falls back to the one untagged on-demand backup of the instance inside the request window', async () => {
    // Prepare
    const backups = [
      backup('older', '2026-03-20T08:38:40Z'),
      backup('other-instance', '2026-03-21T08:38:40Z', { obj_id: 'nb-b23ff000888' }),
      backup('scheduled', '2026-03-21T08:38:20Z', { trigger_type: 'scheduled' }),
      backup('ours', '2026-03-21T08:38:50Z'),
    ];

    // Act / Assess
    await expect(findProducedBackup(listing(backups), target, request, clock)).resolves.toMatchObject({ backupId: 'ours' });
  });

  test('does not take a scheduled backup made before the request as its result', async () => {
    // Prepare
    const backups = [backup('scheduled', '2026-03-21T08:36:00Z', { trigger_type: 'scheduled' })];

    // Act / Assess
    await expect(findProducedBackup(listing(backups), target, request, clock)).rejects.toBeInstanceOf(BackupNotFound);
  });

  test('refuses to guess between two untagged on-demand backups in the window', async () => {
    // Prepare
    const backups = [backup('a', '2026-03-21T08:38:40Z'), backup('b', '2026-03-21T08:38:50Z')];

    // Act / Assess
    await expect(findProducedBackup(listing(backups), target, request, clock)).rejects.toThrow(VendorApiError);
  });
});

describe('checkRestore', () => {
  const running: RestoreState = {
    restoreJobId: 'job-1',
    retrievalId: 'ret-1',
    targetInstanceId: 'nb-b23ff000888',
    status: 'pending',
    failedAt: null,
    completedAt: null,
    redeployedAt: null,
    checksSinceCompleted: 0,
    poll: startPoll(target.poll),
  };
  const jobs = (job: Partial<RestoreJob>) => ({ listRestoreJobs: async () => [{ id: 'job-1', ...job }] });

  test('a failed job that says the target version is unavailable fails as TargetVersionUnavailable', async () => {
    // Act / Assess
    await expect(checkRestore(jobs({ failed: '2026-03-24T06:29:48Z', target_version_available: false }), target, running)).rejects.toBeInstanceOf(
      TargetVersionUnavailable,
    );
  });

  test('a completed job with target_version_available false (as in the document) still completes', async () => {
    // Act
    const state = await checkRestore(jobs({ completed: '2026-03-24T06:29:48Z', nb_redeployed: '2026-03-24T06:29:51Z', target_version_available: false, failed: null }), target, running);

    // Assess
    expect(state).toMatchObject({ status: 'completed', redeployedAt: '2026-03-24T06:29:51Z' });
  });

  test('any other failed job is reported as failed', async () => {
    // Act / Assess
    await expect(checkRestore(jobs({ failed: '2026-03-24T06:29:48Z', target_version_available: true }), target, running)).resolves.toMatchObject({ status: 'failed' });
  });
});

import type { NetboxCloudTarget } from '../../../functions/kinds/netbox-cloud/config';
import type { Backup, BackupRequest, RestoreJob, Retrieval } from '../../../functions/kinds/netbox-cloud/client';
import {
  checkBackupRequest,
  checkRestore,
  checkRetrieval,
  findProducedBackup,
  requestBackup,
  requestRestore,
  requestRetrieval,
  UNCONFIRMED_LOOKUPS,
  type BackupRequestState,
  type RestoreState,
  type RetrievalState,
} from '../../../functions/kinds/netbox-cloud/lifecycle';
import { BackupNotFound, RequestOutcomeUnknown, TransientApiError, VendorApiError } from '../../../functions/shared/errors';
import { TargetVersionUnavailable } from '../../../functions/kinds/netbox-cloud/errors';
import { startPoll } from '../../../functions/shared/poll';

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
  ambiguousAnswer: null,
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
    requestedAt: '2026-03-24T06:29:20.000Z',
    ambiguousAnswer: null,
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

// ---------------------------------------------------------------- ambiguous answers to creating calls

const requestedAt = '2026-03-24T10:00:00.000Z';
const atRequest = () => new Date(requestedAt);
const gateway502 = new TransientApiError('NetBox Cloud: restore retrieval ret-1 onto nb-b23ff000888 failed: HTTP 502 — 502 Bad Gateway (HTML page, 568 bytes)', undefined, 502);

describe('requestRestore, requestBackup and requestRetrieval after an ambiguous answer', () => {
  test('a 5xx on the restore request gives a restore with no job id yet, the time taken before the call, and the answer', async () => {
    // Prepare
    const client = {
      requestRestore: async () => {
        throw gateway502;
      },
    };

    // Act
    const state = await requestRestore(client, target, 'ret-1', 'nb-b23ff000888', atRequest);

    // Assess
    expect(state).toMatchObject({ restoreJobId: null, retrievalId: 'ret-1', targetInstanceId: 'nb-b23ff000888', requestedAt, status: 'pending', ambiguousAnswer: gateway502.message });
  });

  test.each([
    ['a timeout', new TransientApiError('NetBox Cloud: request a backup of nb-a12ff000777 failed: no answer within 30000 ms (https://api.netboxlabs.com/v2/organization/org-1/backup-requests/)')],
    ['a dropped connection', new TransientApiError('NetBox Cloud: request a backup of nb-a12ff000777 failed: network error ECONNRESET (https://api.netboxlabs.com/v2/organization/org-1/backup-requests/)')],
  ])('%s on the backup request gives a request with no id yet', async (_case, error) => {
    // Prepare
    const client = {
      requestBackup: async () => {
        throw error;
      },
    };

    // Act
    const state = await requestBackup(client, target, atRequest);

    // Assess
    expect(state).toMatchObject({ requestId: null, requestedAt, status: 'pending', ambiguousAnswer: error.message });
  });

  test('a 2xx without an id on the retrieval request gives a retrieval with no id yet', async () => {
    // Prepare
    const client = { requestRetrieval: async () => undefined };

    // Act
    const state = await requestRetrieval(client, target, 'backup-1', atRequest);

    // Assess
    expect(state).toMatchObject({ retrievalId: null, backupId: 'backup-1', requestedAt, status: 'pending', ambiguousAnswer: expect.stringContaining('without an id') });
  });

  test('an answer that says the vendor did not act is passed on as it is', async () => {
    // Prepare
    const client = {
      requestRestore: async () => {
        throw new TargetVersionUnavailable('NetBox Cloud refused the restore (HTTP 422)');
      },
    };

    // Act / Assess
    await expect(requestRestore(client, target, 'ret-1', 'nb-b23ff000888', atRequest)).rejects.toBeInstanceOf(TargetVersionUnavailable);
  });
});

describe('checkRestore after an ambiguous answer: finding the job the request may have created', () => {
  const unconfirmed: RestoreState = {
    restoreJobId: null,
    retrievalId: 'ret-1',
    targetInstanceId: 'nb-b23ff000888',
    requestedAt,
    ambiguousAnswer: gateway502.message,
    status: 'pending',
    failedAt: null,
    completedAt: null,
    redeployedAt: null,
    checksSinceCompleted: 0,
    poll: startPoll(target.poll),
  };
  const job = (id: string, created: string, fields: Partial<RestoreJob> = {}): RestoreJob => ({ id, retrieval_id: 'ret-1', target_nb_id: 'nb-b23ff000888', created, failed: null, ...fields });
  const listing = (jobs: RestoreJob[]) => {
    const asked: Array<{ targetInstanceId?: string }> = [];
    return {
      asked,
      listRestoreJobs: async (filter: { targetInstanceId?: string } = {}) => {
        asked.push(filter);
        return jobs;
      },
    };
  };

  test('adopts the job of this retrieval onto this target created since the request, and reads its progress', async () => {
    // Prepare
    const client = listing([
      job('job-earlier', '2026-03-24T08:00:00.000Z', { completed: '2026-03-24T08:01:00.000Z' }),
      job('job-other-retrieval', '2026-03-24T10:00:01.000Z', { retrieval_id: 'ret-2' }),
      job('job-other-target', '2026-03-24T10:00:01.000Z', { target_nb_id: 'nb-a12ff000777' }),
      job('job-ours', '2026-03-24T10:00:02.000Z', { started: '2026-03-24T10:00:05.000Z' }),
    ]);

    // Act
    const state = await checkRestore(client, target, unconfirmed);

    // Assess
    expect(client.asked).toEqual([{ targetInstanceId: 'nb-b23ff000888', seek: expect.any(Function) }]);
    expect(state).toMatchObject({ restoreJobId: 'job-ours', status: 'pending', requestedAt, poll: { attempt: 1 } });
  });

  test('adopts a job whose created lies a little before the request: the vendor clock may run behind ours', async () => {
    // Prepare: NetBox Cloud's clock two minutes behind.
    const client = listing([job('job-ours', '2026-03-24T09:58:00.000Z', { completed: '2026-03-24T09:58:30.000Z', nb_redeployed: '2026-03-24T09:58:40.000Z' })]);

    // Act
    const state = await checkRestore(client, target, unconfirmed);

    // Assess
    expect(state).toMatchObject({ restoreJobId: 'job-ours', status: 'completed' });
  });

  test(`keeps looking for ${UNCONFIRMED_LOOKUPS} checks, then fails as RequestOutcomeUnknown: the restore may or may not have started`, async () => {
    // Prepare: only an older restore of the same retrieval is listed.
    const client = listing([job('job-earlier', '2026-03-24T08:00:00.000Z')]);
    let state = unconfirmed;

    // Act
    const states: RestoreState[] = [];
    for (let check = 1; check < UNCONFIRMED_LOOKUPS; check += 1) {
      state = await checkRestore(client, target, state);
      states.push(state);
    }
    const failure = checkRestore(client, target, state);

    // Assess
    expect(states.map((each) => [each.restoreJobId, each.status])).toEqual(Array.from({ length: UNCONFIRMED_LOOKUPS - 1 }, () => [null, 'pending']));
    await expect(failure).rejects.toBeInstanceOf(RequestOutcomeUnknown);
    await expect(failure).rejects.toThrow(
      /HTTP 502 — 502 Bad Gateway \(HTML page, 568 bytes\).*no restore job of retrieval ret-1 onto nb-b23ff000888 created since .*: the restore may or may not have started; check restore jobs/,
    );
  });
});

describe('checkBackupRequest and checkRetrieval after an ambiguous answer', () => {
  const poll = startPoll(target.poll);

  test('adopts the backup request of the instance created since the request, not another instance\'s', async () => {
    // Prepare
    const requests: BackupRequest[] = [
      { id: 'req-other-instance', obj_id: 'nb-b23ff000888', created: '2026-03-24T10:00:01.000Z' },
      { id: 'req-yesterday', obj_id: 'nb-a12ff000777', created: '2026-03-23T10:00:01.000Z', completed: '2026-03-23T10:01:00.000Z' },
      { id: 'req-ours', obj_id: 'nb-a12ff000777', created: '2026-03-24T10:00:01.000Z', started: '2026-03-24T10:00:02.000Z' },
    ];
    const unconfirmed: BackupRequestState = { requestId: null, requestedAt, ambiguousAnswer: 'HTTP 502', status: 'pending', startedAt: null, completedAt: null, poll };

    // Act
    const state = await checkBackupRequest({ listBackupRequests: async () => requests }, target, unconfirmed);

    // Assess
    expect(state).toMatchObject({ requestId: 'req-ours', status: 'pending', startedAt: '2026-03-24T10:00:02.000Z' });
  });

  test('a backup request that is not found fails, after the lookups, saying to check backup requests', async () => {
    // Prepare
    const unconfirmed: BackupRequestState = {
      requestId: null,
      requestedAt,
      ambiguousAnswer: 'HTTP 504',
      status: 'pending',
      startedAt: null,
      completedAt: null,
      poll: { ...poll, attempt: UNCONFIRMED_LOOKUPS - 1 },
    };

    // Act / Assess
    await expect(checkBackupRequest({ listBackupRequests: async () => [] }, target, unconfirmed)).rejects.toThrow(
      /the backup may or may not have been requested; check backup requests/,
    );
  });

  test('adopts the retrieval of this backup created since the request', async () => {
    // Prepare
    const retrievals: Retrieval[] = [
      { id: 'ret-other-backup', backup_id: 'backup-2', created: '2026-03-24T10:00:01.000Z' },
      { id: 'ret-ours', backup_id: 'backup-1', created: '2026-03-24T10:00:01.000Z', completed: '2026-03-24T10:00:03.000Z', presigned_url: 'https://x', expires: '2026-03-24T13:00:00.000Z' },
    ];
    const unconfirmed: RetrievalState = { retrievalId: null, backupId: 'backup-1', requestedAt, ambiguousAnswer: 'HTTP 502', status: 'pending', expiresAt: null, poll };

    // Act
    const state = await checkRetrieval({ listRetrievals: async () => retrievals }, target, unconfirmed);

    // Assess
    expect(state).toMatchObject({ retrievalId: 'ret-ours', status: 'completed', expiresAt: '2026-03-24T13:00:00.000Z' });
  });
});

import { lifecycleFor } from '../../functions/catalog';
import { parseConfig } from '../../functions/config/load';
import { describeTargetFailure, isLifecycleMachine, planFleetRun, summarizeFleetRun } from '../../functions/fleet/fan-out';

const netbox = (name: string, schedule?: string) => ({ name, kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'o', instanceId: `nb-${name}`, credentials: { secret: 'x' }, ...(schedule ? { schedule } : {}) });
const vps = (name: string) => ({ name, kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 1, credentials: { secret: 'y' } });

function config(fleet?: unknown) {
  return parseConfig({ archive: { bucket: 'test-offsite-archive', region: 'eu-west-1' }, targets: [netbox('a', 'cron(0 2 * * ? *)'), vps('v'), netbox('b'), netbox('c', 'cron(0 2 * * ? *)')], ...(fleet ? { fleet } : {}) }, 'test');
}

describe('planFleetRun', () => {
  test("plans the kind's targets in configuration order at the default concurrency of 4, without jitter by default", () => {
    // Act
    const plan = planFleetRun(config(), lifecycleFor('netbox-cloud', 'backup'), { lifecycle: 'NetboxCloudBackup' });
    // Assess
    expect(plan).toEqual({ lifecycle: 'NetboxCloudBackup', maxConcurrency: 4, targets: ['a', 'b', 'c'].map((target) => ({ target, delaySeconds: 0 })) });
  });

  test('each target waits a random whole number of seconds from 0 to startJitterSeconds', () => {
    // Prepare
    const draws = [0, 0.5, 0.9999];
    // Act
    const plan = planFleetRun(config({ startJitterSeconds: 120 }), lifecycleFor('netbox-cloud', 'backup'), { lifecycle: 'NetboxCloudBackup' }, () => draws.shift() ?? 0);
    // Assess
    expect(plan.targets.map((item) => item.delaySeconds)).toEqual([0, 60, 120]);
  });

  test('the per-kind maxConcurrency of the configuration, and the request overriding it', () => {
    // Prepare
    const configured = config({ maxConcurrency: { 'netbox-cloud': 2 } });
    // Act / Assess
    expect(planFleetRun(configured, lifecycleFor('netbox-cloud', 'backup'), { lifecycle: 'NetboxCloudBackup' }).maxConcurrency).toBe(2);
    expect(planFleetRun(configured, lifecycleFor('vps', 'backup'), { lifecycle: 'VpsBackup' }).maxConcurrency).toBe(4);
    expect(planFleetRun(configured, lifecycleFor('netbox-cloud', 'backup'), { lifecycle: 'NetboxCloudBackup', maxConcurrency: 7 }).maxConcurrency).toBe(7);
  });

  test("a drill fan-out plans the kind's drilled targets whose drill.schedule is the group's, not their backup schedule", () => {
    // Prepare: a and c back up on the same expression; only a and b drill, on different ones.
    const drilled = parseConfig(
      {
        archive: { bucket: 'test-offsite-archive', region: 'eu-west-1' },
        targets: [
          { ...netbox('a', 'cron(0 2 * * ? *)'), drill: { to: 'nb-lab', schedule: 'cron(0 4 ? * SUN *)' } },
          { ...netbox('b'), drill: { to: 'nb-lab', schedule: 'cron(0 4 ? * SAT *)' } },
          netbox('c', 'cron(0 2 * * ? *)'),
        ],
      },
      'test',
    );
    const drill = { id: 'NetboxCloudDrill', kind: 'netbox-cloud', purpose: 'drill' } as const;
    // Act
    const sunday = planFleetRun(drilled, drill, { lifecycle: 'NetboxCloudDrill', schedule: 'cron(0 4 ? * SUN *)' });
    const byBackupSchedule = planFleetRun(drilled, drill, { lifecycle: 'NetboxCloudDrill', schedule: 'cron(0 2 * * ? *)' });
    const all = planFleetRun(drilled, drill, { lifecycle: 'NetboxCloudDrill' });
    // Assess
    expect(sunday.targets.map((item) => item.target)).toEqual(['a']);
    expect(byBackupSchedule.targets).toEqual([]);
    expect(all.targets.map((item) => item.target)).toEqual(['a', 'b']);
    expect(() => planFleetRun(drilled, drill, { lifecycle: 'NetboxCloudDrill', targets: ['c'] })).toThrow('Not configured netbox-cloud targets with a drill: c.');
  });

  test('names given by hand must be configured targets of the kind', () => {
    // Act / Assess
    expect(() => planFleetRun(config(), lifecycleFor('netbox-cloud', 'backup'), { lifecycle: 'NetboxCloudBackup', targets: ['a', 'v', 'zz'] })).toThrow('Not configured netbox-cloud targets: v, zz.');
  });

  test('a maxConcurrency above 40 is refused with a message that says why', () => {
    // Act / Assess
    expect(() => config({ maxConcurrency: { 'netbox-cloud': 41 } })).toThrow(/fleet\.maxConcurrency\.netbox-cloud: expected at most 40 \(an inline Map state runs at most 40 iterations at once\)/);
  });
});

describe('one target failure in a few bytes', () => {
  test("the child's own error and execution name from the startExecution.sync Cause", () => {
    // Act
    const result = describeTargetFailure('a', {
      Error: 'States.TaskFailed',
      Cause: JSON.stringify({ ExecutionArn: 'arn:aws:states:eu-west-1:1:execution:offsite-netbox-cloud-backup:4f1c', Status: 'FAILED', Error: 'BackupTimedOut', Cause: 'x'.repeat(30_000) }),
    });
    // Assess
    expect(result).toEqual({ target: 'a', status: 'FAILED', error: 'BackupTimedOut', execution: '4f1c' });
  });

  test("a Cause that is not the child's description keeps the Task's own error", () => {
    // Act / Assess
    expect(describeTargetFailure('a', { Error: 'States.Timeout', Cause: 'Task timed out' })).toEqual({ target: 'a', status: 'FAILED', error: 'States.Timeout' });
  });
});

test('the summary lists who succeeded and who failed', () => {
  // Act / Assess
  expect(summarizeFleetRun('VpsBackup', [{ target: 'a', status: 'SUCCEEDED' }, { target: 'b', status: 'FAILED', error: 'X' }])).toEqual({ lifecycle: 'VpsBackup', total: 2, succeeded: ['a'], failed: [{ target: 'b', error: 'X' }] });
});

test("a machine is a lifecycle's as deployed (<prefix>-<kind>-<purpose>) or as run locally", () => {
  // Act / Assess
  expect(isLifecycleMachine('arn:aws:states:eu-west-1:1:stateMachine:offsite-vps-backup', lifecycleFor('vps', 'backup'))).toBe(true);
  expect(isLifecycleMachine('arn:aws:states:us-east-1:0:stateMachine:offsite-local-VpsBackup', lifecycleFor('vps', 'backup'))).toBe(true);
  expect(isLifecycleMachine('arn:aws:states:eu-west-1:1:stateMachine:offsite-vps-restore', lifecycleFor('vps', 'backup'))).toBe(false);
});

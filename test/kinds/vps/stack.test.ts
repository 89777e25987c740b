import { FUNCTIONS } from '../../../functions/catalog';
import { parseConfig } from '../../../functions/config/load';
import { ACCOUNT, REGION, flat, lifecycle, only, secretsUnder, synthesize, type SynthesizedStack } from '../../support/infra';

// The vps kind in the stack: its functions and state machines through the registry, IAM
// scoped to the vps secrets, its schedule and alarms.
const VPS_SECRET = secretsUnder('offsite/vps/');

function vpsConfig() {
  return parseConfig(
    {
      archive: { bucket: 'test-offsite-archive', prefix: 'backups/', region: REGION },
      timezone: 'Europe/Berlin',
      alarmEmail: 'oncall@example.com',
      targets: [
        { name: 'netbox-prod', kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-123', instanceId: 'nb-a12ff000777', credentials: { secret: 'offsite/netbox-cloud/netbox-prod' } },
        { name: 'web-01', kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 12345, credentials: { secret: 'offsite/vps/web-01' }, schedule: 'cron(0 3 * * ? *)', retention: { keepDaily: 7, keepWeekly: 4 } },
      ],
    },
    'vps test config',
  );
}

const vpsFunctions = FUNCTIONS.filter((spec) => spec.kind === 'vps');
const spec = (id: string) => {
  const found = vpsFunctions.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no function ${id}`);
  return found;
};

describe('the vps kind in the stack', () => {
  let synth: SynthesizedStack;

  beforeAll(() => {
    synth = synthesize(vpsConfig(), { bundle: false });
  });

  test('every vps function reads the vps secret and no other; other kinds cannot read it', () => {
    for (const fn of vpsFunctions) expect({ id: fn.id, secrets: synth.secretsReadableBy(fn) }).toEqual({ id: fn.id, secrets: [VPS_SECRET] });
    for (const fn of FUNCTIONS.filter((candidate) => candidate.kind === 'netbox-cloud')) expect(synth.secretsReadableBy(fn)).not.toContain(VPS_SECRET);
  });

  test('only the record and delete functions write the archive (under the prefix); the retention planner reads it; API-only ones have no S3 action', () => {
    const actions = (id: string) => synth.s3StatementsOf(spec(id)).flatMap((statement) => [statement.Action].flat()).sort();
    expect(actions('VpsRecordBackup')).toEqual(expect.arrayContaining(['s3:PutObject', 's3:DeleteObject']));
    expect(actions('VpsDeleteOwnBackup')).toEqual(expect.arrayContaining(['s3:DeleteObject']));
    expect(actions('VpsPlanRetention')).toEqual(['s3:GetObject', 's3:ListBucket']);
    for (const id of ['VpsCreateBackup', 'VpsCheckBackup', 'VpsResolveBackup', 'VpsRequestRestore', 'VpsCheckRestore']) expect({ id, actions: actions(id) }).toEqual({ id, actions: [] });
    for (const statement of synth.s3StatementsOf(spec('VpsRecordBackup'))) expect(flat(statement.Resource)).toMatch(/\/backups\/\*/);
  });

  test('both vps lifecycles are state machines calling the vps functions', () => {
    for (const purpose of ['backup', 'restore'] as const) {
      const { properties } = synth.stateMachineOf(lifecycle('vps', purpose));
      expect(flat(properties.DefinitionString)).toMatch(/Vps/);
    }
  });

  test("the target's schedule starts the vps backup fan-out for its group", () => {
    const [logicalId] = only(synth.resources('AWS::StepFunctions::StateMachine').filter(([, machine]) => machine.Properties.StateMachineName === 'offsite-vps-backup-fan-out'), 'vps backup fan-out');
    const schedules = synth.resources('AWS::Scheduler::Schedule').map(([, schedule]) => schedule.Properties);
    const ours = schedules.filter((schedule) => (schedule.Target as { Input: string }).Input === JSON.stringify({ lifecycle: 'VpsBackup', schedule: 'cron(0 3 * * ? *)' }));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatchObject({ ScheduleExpression: 'cron(0 3 * * ? *)', ScheduleExpressionTimezone: 'Europe/Berlin', Target: { Arn: { Ref: logicalId } } });
  });

  test('a failed vps backup and a failed vps restore each trip an alarm whose text says what to check', () => {
    const backupAlarms = synth.alarmsOn(lifecycle('vps', 'backup'));
    const restoreAlarms = synth.alarmsOn(lifecycle('vps', 'restore'));
    expect(backupAlarms.length).toBeGreaterThan(0);
    expect(restoreAlarms.length).toBeGreaterThan(0);
    expect(backupAlarms.map((alarm) => String(alarm.AlarmDescription)).join(' ')).toMatch(/ProviderBackupFailed/);
    expect(restoreAlarms.map((alarm) => String(alarm.AlarmDescription)).join(' ')).toMatch(/RestoreInProgress/);
  });

  test('the test account is the one synthesized', () => {
    expect(synth.stack.account).toBe(ACCOUNT);
  });
});

import { expressionTag } from '../../functions/fleet/groups';
import { FUNCTIONS } from '../../functions/catalog';
import { NETWORK, allowedActions, flat, lifecycle, only, resourcesFor, synthesize, testConfig, type SynthesizedStack } from '../support/infra';

// One synthesis with two netbox-proxbox targets (one scheduled) beside a NetBox Cloud one.
let synth: SynthesizedStack;

const auditSpecs = FUNCTIONS.filter((spec) => spec.kind === 'netbox-proxbox');

beforeAll(() => {
  synth = synthesize(
    testConfig({
      targets: [
        { name: 'netbox-prod', kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-123', instanceId: 'nb-a12ff000777', credentials: { secret: 'offsite/netbox-cloud/netbox-prod' }, schedule: 'cron(0 2 * * ? *)' },
        { name: 'netbox-dc1', kind: 'netbox-proxbox', baseUrl: 'https://netbox.dc1.example', credentials: { secret: 'offsite/netbox-proxbox/dc1' }, schedule: 'cron(0 6 * * ? *)', coverage: { maxBackupAgeHours: 26 } },
        { name: 'netbox-dc2', kind: 'netbox-proxbox', baseUrl: 'https://netbox.dc2.example', credentials: { secret: 'offsite/netbox-proxbox/dc2' } },
      ],
    }),
    { bundle: false },
  );
});

test('a netbox-proxbox target schedule starts the audit fan-out of its group with {"lifecycle", "schedule"}', () => {
  // Prepare
  const [logicalId] = only(
    synth.resources('AWS::StepFunctions::StateMachine').filter(([, machine]) => machine.Properties.StateMachineName === 'offsite-netbox-proxbox-audit-fan-out'),
    'audit fan-out',
  );

  // Act
  const schedule = only(
    synth
      .resources('AWS::Scheduler::Schedule')
      .filter(([, candidate]) => (candidate.Properties.Target as { Input: string }).Input === JSON.stringify({ lifecycle: 'NetboxProxboxAudit', schedule: 'cron(0 6 * * ? *)' })),
    'schedule of the netbox-proxbox audit group',
  )[1].Properties;

  // Assess
  expect(schedule).toMatchObject({ ScheduleExpression: 'cron(0 6 * * ? *)', ScheduleExpressionTimezone: 'Europe/Berlin' });
  expect(schedule.Name).toMatch(/^offsite-netbox-proxbox-audit-[0-9a-f]{8}$/);
  expect(flat((schedule.Target as { Arn: unknown }).Arn)).toBe(`<${logicalId}>`);
});

test('the audit functions run in the configured VPC, like the appliance functions', () => {
  for (const spec of auditSpecs.filter((candidate) => candidate.network === 'private-network')) {
    // Act
    const vpc = synth.functionOf(spec).properties.VpcConfig as { SubnetIds: unknown[] } | undefined;
    // Assess
    expect({ id: spec.id, subnets: vpc?.SubnetIds }).toEqual({ id: spec.id, subnets: NETWORK.subnetIds });
  }
  expect(auditSpecs.filter((spec) => spec.network === 'private-network').length).toBeGreaterThanOrEqual(5);
});

test('the compute and report functions may read and write the archive below the prefix; the read steps only write', () => {
  // Prepare
  const byId = (id: string) => only(auditSpecs.filter((spec) => spec.id === id), id);

  // Act
  const compute = synth.s3StatementsOf(byId('NetboxProxboxComputeCoverage'));
  const reader = synth.s3StatementsOf(byId('NetboxProxboxReadVirtualMachines'));

  // Assess
  expect(allowedActions(compute)).toEqual(expect.arrayContaining(['s3:GetObject', 's3:PutObject', 's3:DeleteObject']));
  expect(resourcesFor(compute, 's3:GetObject')).toEqual([expect.stringMatching(/\/backups\/\*$/)]);
  expect(allowedActions(reader)).toContain('s3:PutObject');
  expect(allowedActions(reader)).not.toContain('s3:GetObject');
  expect(synth.secretsReadableBy(byId('NetboxProxboxReadVirtualMachines'))).toEqual([expect.stringMatching(/:secret:offsite\/netbox-proxbox\/\*$/)]);
});

test('the audit state machine alarms when an audit fails or times out, saying what to look at', () => {
  // Act
  const alarms = synth.alarmsOn(lifecycle('netbox-proxbox', 'audit'));

  // Assess
  expect(alarms.map((alarm) => alarm.MetricName).sort()).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
  const failed = only(alarms.filter((alarm) => alarm.MetricName === 'ExecutionsFailed'), 'failed alarm');
  expect(failed.AlarmDescription).toEqual(expect.stringContaining('AUDIT'));
  expect(failed.AlarmDescription).toEqual(expect.stringContaining('X-Request-ID'));
});

test('one coverage-gap alarm per audit group (schedule expression; the unscheduled together) on AuditUncoveredVirtualMachines > 0, notifying on alarm and on recovery', () => {
  // Act
  const gaps = synth
    .resources('AWS::CloudWatch::Alarm')
    .map(([, alarm]) => alarm.Properties)
    .filter((alarm) => alarm.MetricName === 'AuditUncoveredVirtualMachines');

  // Assess
  // netbox-dc1 is audited on cron(0 6 * * ? *), netbox-dc2 only by hand.
  expect(gaps.map((alarm) => [alarm.AlarmName, alarm.Dimensions]).sort()).toEqual([
    [`offsite-netbox-proxbox-audit-coverage-gap-${expressionTag('cron(0 6 * * ? *)')}`, [{ Name: 'AuditGroup', Value: expressionTag('cron(0 6 * * ? *)') }]],
    ['offsite-netbox-proxbox-audit-coverage-gap-unscheduled', [{ Name: 'AuditGroup', Value: 'unscheduled' }]],
  ]);
  for (const alarm of gaps) {
    expect(alarm).toMatchObject({ Namespace: 'offsite', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Statistic: 'Maximum', Period: 86400, TreatMissingData: 'ignore' });
    expect((alarm.AlarmActions as unknown[]).length).toBe(1);
    expect((alarm.OKActions as unknown[]).length).toBe(1);
    expect(alarm.AlarmDescription).toEqual(expect.stringContaining('offsite audit'));
  }
});

test('no backup-missing alarm and no restore machine for a kind that only audits', () => {
  // Act
  const machines = synth.resources('AWS::StepFunctions::StateMachine').map(([, machine]) => machine.Properties.StateMachineName);

  // Assess
  // The audit and the fan-out its schedule starts (test/infra/backup-schedules.test.ts); no restore machine.
  expect(machines.filter((name) => String(name).includes('netbox-proxbox')).sort()).toEqual(['offsite-netbox-proxbox-audit', 'offsite-netbox-proxbox-audit-fan-out']);
});

import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DRILL_LIFECYCLES } from '../../functions/drill/jobs';
import { flat, only, synthesize, testConfig, type SynthesizedStack } from '../support/infra';

// A drill per kind: NetBox Cloud onto the lab instance (checks with their own token), an appliance onto a lab box, a VPS onto another server.
let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesize(
    testConfig({
      targets: [
        {
          name: 'netbox-prod',
          kind: 'netbox-cloud',
          baseUrl: 'https://api.netboxlabs.com',
          orgId: 'org-123',
          instanceId: 'nb-a12ff000777',
          credentials: { secret: 'offsite/netbox-cloud/netbox-prod' },
          schedule: 'cron(0 2 * * ? *)',
          drill: { to: 'nb-b34ee000888', schedule: 'cron(0 4 ? * SUN *)', checks: { restored: { baseUrl: 'https://nb-lab.cloud.example', credentials: { secret: 'offsite/drill/nb-lab-token' } } } },
        },
        { name: 'web-01', kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 12345, credentials: { secret: 'offsite/vps/drill/web-01' }, schedule: 'cron(0 3 * * ? *)', drill: { to: 67890, schedule: 'rate(7 days)' } },
        {
          name: 'appliance-ar11',
          kind: 'appliance',
          baseUrl: 'https://ar11.example.net',
          auth: { method: 'basic', username: 'offsite-backup', password: { secret: 'offsite/appliance/ar11' } },
          schedule: 'cron(30 2 * * ? *)',
          drill: { to: 'appliance-lab', schedule: 'cron(0 5 1 * ? *)' },
        },
        { name: 'appliance-lab', kind: 'appliance', baseUrl: 'https://lab.example.net', auth: { method: 'basic', username: 'offsite-drill', password: { secret: 'offsite/appliance/drill/lab' } } },
      ],
    }),
    { bundle: false },
  );
});

const machineNamed = (name: string) => only(synth.resources('AWS::StepFunctions::StateMachine').filter(([, machine]) => machine.Properties.StateMachineName === name), name);
const policyTextOf = (roleFragment: string): string =>
  synth
    .resources('AWS::IAM::Policy')
    .filter(([, policy]) => JSON.stringify(policy.Properties.Roles).includes(roleFragment))
    .map(([, policy]) => JSON.stringify(policy.Properties.PolicyDocument))
    .join('\n');

test('one drill state machine per kind with drilled targets, starting only that kind\'s restore machine', () => {
  for (const kind of ['netbox-cloud', 'appliance', 'vps']) {
    const [id, machine] = machineNamed(`offsite-${kind}-drill`);
    const definition = flat(machine.Properties.DefinitionString);
    expect(definition).toContain('states:startExecution.sync:2');
    const policies = policyTextOf(id.replace(/[A-F0-9]{8}$/, ''));
    expect(policies).toContain('states:StartExecution');
    expect(policies).not.toContain('"states:StartExecution","Resource":"*"');
    expect(policies).toContain(`:execution:offsite-${kind}-restore:*`);
  }
});

test('a schedule per (kind, drill expression) starts that kind\'s drill fan-out with the group, not a target', () => {
  // Act
  const schedules = synth.resources('AWS::Scheduler::Schedule').filter(([, schedule]) => String(schedule.Properties.Name).includes('-drill-'));
  const fanOutArn = (kind: string): string => `<${machineNamed(`offsite-${kind}-drill-fan-out`)[0]}>`;
  // Assess
  expect(
    schedules.map(([, schedule]) => {
      const target = schedule.Properties.Target as { Arn: unknown; Input: string };
      return [String(schedule.Properties.Name).replace(/[0-9a-f]{8}$/, '<tag>'), schedule.Properties.ScheduleExpression, flat(target.Arn), JSON.parse(target.Input) as unknown];
    }).sort(),
  ).toEqual(
    [
      ['offsite-appliance-drill-<tag>', 'cron(0 5 1 * ? *)', fanOutArn('appliance'), { lifecycle: 'ApplianceDrill', schedule: 'cron(0 5 1 * ? *)' }],
      ['offsite-netbox-cloud-drill-<tag>', 'cron(0 4 ? * SUN *)', fanOutArn('netbox-cloud'), { lifecycle: 'NetboxCloudDrill', schedule: 'cron(0 4 ? * SUN *)' }],
      ['offsite-vps-drill-<tag>', 'rate(7 days)', fanOutArn('vps'), { lifecycle: 'VpsDrill', schedule: 'rate(7 days)' }],
    ].sort(),
  );
});

test('alarms: one per drill machine when a drill fails, one when drills are overdue', () => {
  const names = synth.resources('AWS::CloudWatch::Alarm').map(([, alarm]) => String(alarm.Properties.AlarmName));
  expect(names.filter((name) => name.includes('drill')).sort()).toEqual(['offsite-appliance-drill-failed', 'offsite-drills-overdue', 'offsite-netbox-cloud-drill-failed', 'offsite-vps-drill-failed']);
});

test('the drill checks read only the drills\' own secrets and the destinations\' (by prefix); the report writer writes only under drills/', () => {
  const checks = policyTextOf('DrillChecks');
  expect(checks).toContain(':secret:offsite/drill/*');
  expect(checks).toContain(':secret:offsite/appliance/drill/*');
  expect(checks).toContain(':secret:offsite/vps/drill/*');
  expect(checks).not.toContain(':secret:offsite/netbox-cloud/');
  expect(checks).not.toContain(':secret:offsite/appliance/*');
  const report = policyTextOf('DrillReport');
  expect(report).toContain('/drills/*');
  expect(report).not.toContain('s3:DeleteObject');
});

test('each drill machine is a stack output keyed as the lifecycles are, which drill --remote starts', () => {
  // Act
  const outputs = synth.template.findOutputs('*');

  // Assess
  for (const spec of DRILL_LIFECYCLES) {
    const [id] = machineNamed(`offsite-${spec.kind}-drill`);
    expect(flat(outputs[`${spec.id}StateMachineArn`]?.Value)).toBe(`<${id}>`);
  }
});

test('cdk-nag AwsSolutions reports nothing unacknowledged on a stack with a drill per kind', () => {
  // Act
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(synth.app);
  const findings = report.violations.map(
    (violation) => `${violation.severity} ${violation.ruleName} at ${violation.violatingResources.map((resource) => resource.constructPath).join(', ')}: ${violation.description}`,
  );

  // Assess
  expect(findings).toEqual([]);
  expect(Annotations.fromStack(synth.stack).findError('*', Match.anyValue())).toEqual([]);
  expect(Annotations.fromStack(synth.stack).findWarning('*', Match.anyValue())).toEqual([]);
});

test('the dashboard graphs failed drills per drill machine and the overdue drills', () => {
  // Prepare
  const [, dashboard] = only(synth.resources('AWS::CloudWatch::Dashboard'), 'dashboard');
  const body = flat(dashboard.Properties.DashboardBody);

  // Assess
  expect(body).toContain('Restore drills');
  for (const kind of ['netbox-cloud', 'appliance', 'vps']) {
    const [id] = machineNamed(`offsite-${kind}-drill`);
    expect(body).toMatch(new RegExp(`"ExecutionsFailed","StateMachineArn","<${id}>"[^\\]]*"label":"offsite-${kind}-drill failed"`));
  }
  expect(body).toMatch(/"offsite","OverdueDrills","Job","freshness"/);
});

test("a drill's secrets outside the drill prefixes are synthesis errors naming target and field; the drills above have none", () => {
  // Prepare: the lab box's password among the production appliances', the drill token among NetBox Cloud's.
  const config = testConfig({
    targets: [
      {
        name: 'netbox-prod', kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-123', instanceId: 'nb-a12ff000777', credentials: { secret: 'offsite/netbox-cloud/netbox-prod' },
        drill: { to: 'nb-b34ee000888', checks: { restored: { baseUrl: 'https://nb-lab.cloud.example', credentials: { secret: 'offsite/netbox-cloud/lab-token' } } } },
      },
      { name: 'appliance-ar11', kind: 'appliance', baseUrl: 'https://ar11.example.net', auth: { method: 'basic', username: 'b', password: { secret: 'offsite/appliance/ar11' } }, drill: { to: 'appliance-lab' } },
      { name: 'appliance-lab', kind: 'appliance', baseUrl: 'https://lab.example.net', auth: { method: 'basic', username: 'd', password: { secret: 'offsite/appliance/lab' } } },
    ],
  });
  // Act
  const misplaced = synthesize(config, { bundle: false, id: 'Misplaced' });
  const errorsOf = (stack: SynthesizedStack): string[] => Annotations.fromStack(stack.stack).findError('*', Match.anyValue()).map((error) => String(error.entry.data));
  // Assess
  expect(errorsOf(synth)).toEqual([]);
  expect(errorsOf(misplaced)).toEqual([
    expect.stringMatching(/^Target "netbox-prod": drill\.checks\.restored\.credentials\.secret is "offsite\/netbox-cloud\/lab-token"; expected a secret named under "offsite\/drill\/".*the drill checks may read only/),
    expect.stringMatching(/^Target "appliance-lab": auth\.password\.secret is "offsite\/appliance\/lab"; expected a secret named under "offsite\/appliance\/drill\/".*a drill destination/),
  ]);
});

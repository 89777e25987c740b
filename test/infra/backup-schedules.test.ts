import { allowedActions, backupSpecs, flat, lifecycle, only, resourcesFor, synthesize, testConfig, type SynthesizedStack } from '../support/infra';

// One synthesis for the whole file, without bundling (see synthesize in test/support/infra.ts).
let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesize(testConfig(), { bundle: false });
});

test('the test catalog has the backup lifecycles the tests below check', () => {
  // Assess (otherwise loops over an empty list would pass without checking anything)
  for (const group of [backupSpecs]) {
    expect(group.length).toBeGreaterThan(0);
  }
});

describe('schedules', () => {
  // The archive's own jobs (verify, freshness) have schedules too, with {"job": …}; test/infra/archive-jobs.test.ts checks those.
  const schedules = (): Record<string, unknown>[] =>
    synth
      .resources('AWS::Scheduler::Schedule')
      .map(([, schedule]) => schedule.Properties)
      .filter((properties) => 'target' in (JSON.parse((properties.Target as { Input: string }).Input) as object));

  test('one schedule per scheduled target, and none for unscheduled targets', () => {
    // Act
    const inputs = schedules().map((schedule) => (schedule.Target as { Input: string }).Input).sort();
    // Assess
    expect(inputs).toEqual([JSON.stringify({ target: 'appliance-ar11' }), JSON.stringify({ target: 'netbox-prod' }), JSON.stringify({ target: 'web-01' })]);
  });

  test.each([
    ['netbox-cloud', 'netbox-prod', 'cron(0 2 * * ? *)'],
    ['appliance', 'appliance-ar11', 'cron(30 2 * * ? *)'],
  ] as const)('the %s schedule of %s starts that kind\'s backup machine with {"target": name}, in the configured time zone', (kind, targetName, expression) => {
    // Prepare
    const { logicalId: backupId } = synth.stateMachineOf(lifecycle(kind, 'backup'));
    // Act
    const schedule = only(
      schedules().filter((candidate) => (candidate.Target as { Input: string }).Input === JSON.stringify({ target: targetName })),
      `schedule of ${targetName}`,
    );
    // Assess
    expect(schedule).toMatchObject({
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      Target: { Arn: { Ref: backupId }, Input: JSON.stringify({ target: targetName }) },
    });
  });

  test('the scheduler role may only start the backup state machines', () => {
    // Prepare
    const roleLogicalIds = new Set(schedules().map((schedule) => flat((schedule.Target as { RoleArn: unknown }).RoleArn).replace(/^<(.*)\.Arn>$/, '$1')));
    const roleLogicalId = only([...roleLogicalIds], 'scheduler role');
    const backupIds = backupSpecs.map((spec) => `<${synth.stateMachineOf(spec).logicalId}>`).sort();
    // Act
    const statements = synth.statementsOfRole(roleLogicalId);
    // Assess
    expect([...new Set(allowedActions(statements))]).toEqual(['states:StartExecution']);
    expect(resourcesFor(statements, 'states:StartExecution').sort()).toEqual(backupIds);
  });
});

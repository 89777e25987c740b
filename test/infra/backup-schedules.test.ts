import { allowedActions, flat, lifecycle, only, resourcesFor, synthesize, testConfig, type SynthesizedStack } from '../support/infra';

// One synthesis for the whole file, without bundling (see synthesize in test/support/infra.ts).
let synth: SynthesizedStack;

/** netbox-prod and netbox-lab share one expression, so they share one schedule. */
const SHARED = 'cron(0 2 * * ? *)';

beforeAll(() => {
  const base = testConfig();
  synth = synthesize(
    testConfig({ targets: base.targets.map((target) => (target.name === 'netbox-lab' ? { ...target, schedule: SHARED } : target)) }),
    { bundle: false },
  );
});

// The archive's own jobs (verify, freshness) have schedules too, with {"job": …}; test/infra/archive-jobs.test.ts checks those.
const groupSchedules = (): Record<string, unknown>[] =>
  synth
    .resources('AWS::Scheduler::Schedule')
    .map(([, schedule]) => schedule.Properties)
    .filter((properties) => 'lifecycle' in (JSON.parse((properties.Target as { Input: string }).Input) as object));

const fanOutOf = (kind: 'netbox-cloud' | 'appliance' | 'vps', purpose: 'backup'): string =>
  only(
    synth.resources('AWS::StepFunctions::StateMachine').filter(([, machine]) => machine.Properties.StateMachineName === `offsite-${kind}-${purpose}-fan-out`),
    `fan-out of ${kind} ${purpose}`,
  )[0];

describe('schedules by group', () => {
  test('one schedule per distinct (lifecycle, expression), none per target, and none for unscheduled targets', () => {
    // Act
    const inputs = groupSchedules().map((schedule) => JSON.parse((schedule.Target as { Input: string }).Input) as unknown);
    // Assess
    expect(inputs).toHaveLength(3);
    expect(inputs).toEqual(
      expect.arrayContaining([
        { lifecycle: 'NetboxCloudBackup', schedule: SHARED },
        { lifecycle: 'ApplianceBackup', schedule: 'cron(30 2 * * ? *)' },
        { lifecycle: 'VpsBackup', schedule: 'cron(0 3 * * ? *)' },
      ]),
    );
    expect(synth.resources('AWS::Scheduler::Schedule').filter(([, schedule]) => 'target' in (JSON.parse((schedule.Properties.Target as { Input: string }).Input) as object))).toEqual([]);
  });

  test.each([
    ['netbox-cloud', 'NetboxCloudBackup', SHARED],
    ['appliance', 'ApplianceBackup', 'cron(30 2 * * ? *)'],
  ] as const)("the %s group's schedule starts that lifecycle's fan-out with its lifecycle and expression, in the configured time zone, under a stable name", (kind, lifecycleId, expression) => {
    // Act
    const schedule = only(
      groupSchedules().filter((candidate) => (JSON.parse((candidate.Target as { Input: string }).Input) as { lifecycle: string }).lifecycle === lifecycleId),
      `schedule of ${lifecycleId}`,
    );
    // Assess
    expect(schedule).toMatchObject({
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      Target: { Arn: { Ref: fanOutOf(kind, 'backup') } },
    });
    expect(schedule.Name).toMatch(new RegExp(`^offsite-${kind}-backup-[0-9a-f]{8}$`));
  });

  test('the scheduler role may only start the fan-out state machines', () => {
    // Prepare
    const roleLogicalId = only([...new Set(groupSchedules().map((schedule) => flat((schedule.Target as { RoleArn: unknown }).RoleArn).replace(/^<(.*)\.Arn>$/, '$1')))], 'scheduler role');
    // Act
    const statements = synth.statementsOfRole(roleLogicalId);
    // Assess
    expect([...new Set(allowedActions(statements))]).toEqual(['states:StartExecution']);
    expect(resourcesFor(statements, 'states:StartExecution').sort()).toEqual(
      (['netbox-cloud', 'appliance', 'vps'] as const).map((kind) => `<${fanOutOf(kind, 'backup')}>`).sort(),
    );
  });

  test("a fan-out may start, follow and stop executions of its own lifecycle's machine only, and invoke the Fleet functions only", () => {
    // Prepare
    const [, machine] = only(
      synth.resources('AWS::StepFunctions::StateMachine').filter(([, candidate]) => candidate.Properties.StateMachineName === 'offsite-appliance-backup-fan-out'),
      'appliance fan-out',
    );
    const roleId = flat(machine.Properties.RoleArn).replace(/^<(.*)\.Arn>$/, '$1');
    const { logicalId: childId } = synth.stateMachineOf(lifecycle('appliance', 'backup'));
    // Act
    const statements = synth.statementsOfRole(roleId);
    // Assess
    expect(resourcesFor(statements, 'states:StartExecution')).toEqual([`<${childId}>`]);
    expect(resourcesFor(statements, 'states:DescribeExecution')).toEqual(['arn:aws:states:eu-west-1:123456789012:execution:offsite-appliance-backup:*']);
    expect(resourcesFor(statements, 'states:StopExecution')).toEqual(['arn:aws:states:eu-west-1:123456789012:execution:offsite-appliance-backup:*']);
    expect(resourcesFor(statements, 'lambda:InvokeFunction').map(synth.catalogIdOfFunctionArn).sort()).toEqual(['FleetPlanRun', 'FleetRecordFailure', 'FleetSummarize']);
  });
});

import { AwsSolutionsChecks } from 'cdk-nag';
import { ARCHIVE_JOBS } from '../../functions/archive/jobs';
import { flat, only, resourcesFor, synthesize, testConfig, type Resource, type SynthesizedStack } from '../support/infra';

// One synthesis for the whole file, without bundling (see synthesize in test/support/infra.ts).
let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesize(testConfig(), { bundle: false });
});

const jobSpec = (id: string) => only(ARCHIVE_JOBS.functions.filter((spec) => spec.id === id), id);
const alarmNamed = (name: string): Record<string, unknown> =>
  only(synth.resources('AWS::CloudWatch::Alarm').filter(([, alarm]) => alarm.Properties.AlarmName === name), name)[1].Properties;
const topicRef = (): { Ref: string } => ({ Ref: only(synth.resources('AWS::SNS::Topic'), 'alarm topic')[0] });

describe('freshness', () => {
  test('one alarm on the count of stale targets, notifying the topic on ALARM and OK, missing data breaching', () => {
    // Act
    const alarm = alarmNamed('offsite-stale-targets');

    // Assess
    expect(alarm).toMatchObject({
      Namespace: 'offsite',
      MetricName: 'StaleTargets',
      Dimensions: [{ Name: 'Job', Value: 'freshness' }],
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [topicRef()],
      OKActions: [topicRef()],
    });
    expect(String(alarm.AlarmDescription)).toContain('offsite status');
  });

  test('replaces the per-state-machine "backup missing" alarm: no alarm watches ExecutionsSucceeded', () => {
    // Act
    const succeeded = synth.resources('AWS::CloudWatch::Alarm').filter(([, alarm]) => alarm.Properties.MetricName === 'ExecutionsSucceeded');

    // Assess
    expect(succeeded).toEqual([]);
  });

  test('costs the same for any number of targets: no alarm, metric dimension or schedule per target', () => {
    // Prepare: the test fleet plus ten more scheduled targets (the config parameter holds 8 KB).
    const base = testConfig();
    const more = Array.from({ length: 10 }, (_, index) => ({ ...base.targets[0], name: `extra-${index}` }));
    const bigger = synthesize({ ...base, targets: [...base.targets, ...(more as typeof base.targets)] }, { bundle: false, id: 'Bigger' });
    const count = (s: SynthesizedStack, type: string): number => s.resources(type).length;

    // Act
    const alarmGrowth = count(bigger, 'AWS::CloudWatch::Alarm') - count(synth, 'AWS::CloudWatch::Alarm');
    const freshnessAlarms = bigger.resources('AWS::CloudWatch::Alarm').filter(([, alarm]) => alarm.Properties.MetricName === 'StaleTargets');

    // Assess: the backup lifecycle alarms are per state machine (per kind), not per target.
    expect(alarmGrowth).toBe(0);
    expect(freshnessAlarms).toHaveLength(1);
    expect(freshnessAlarms[0]?.[1].Properties.Dimensions).toEqual([{ Name: 'Job', Value: 'freshness' }]);
  });

  test('CheckFreshness runs hourly in the configured time zone and may set only its own alarm state', () => {
    // Prepare
    const fn = synth.functionOf(jobSpec('CheckFreshness'));

    // Act
    const schedule = only(synth.resources('AWS::Scheduler::Schedule').filter(([, s]) => s.Properties.Name === 'offsite-freshness'), 'freshness schedule')[1];
    const statements = synth.statementsOfRole(fn.roleLogicalId);

    // Assess
    expect(schedule.Properties).toMatchObject({ ScheduleExpression: 'rate(1 hour)', ScheduleExpressionTimezone: 'Europe/Berlin' });
    expect(flat((schedule.Properties.Target as { Arn: unknown }).Arn)).toBe(`<${fn.logicalId}.Arn>`);
    expect(resourcesFor(statements, 'cloudwatch:SetAlarmState').map(flat)).toEqual([expect.stringMatching(/:alarm:offsite-stale-targets$/)]);
    expect((fn.properties.Environment as { Variables: Record<string, unknown> }).Variables.OFFSITE_FRESHNESS_ALARM_NAME).toBe('offsite-stale-targets');
  });
});

describe('scheduled verify', () => {
  test('runs weekly by default and alarms on any bad copy, naming them through its own alarm state', () => {
    // Prepare
    const fn = synth.functionOf(jobSpec('VerifyArchive'));

    // Act
    const schedule = only(synth.resources('AWS::Scheduler::Schedule').filter(([, s]) => s.Properties.Name === 'offsite-verify'), 'verify schedule')[1];
    const alarm = alarmNamed('offsite-bad-copies');
    const statements = synth.statementsOfRole(fn.roleLogicalId);

    // Assess
    expect(schedule.Properties.ScheduleExpression).toBe('rate(7 days)');
    expect(alarm).toMatchObject({ Namespace: 'offsite', MetricName: 'VerifyBadCopies', Dimensions: [{ Name: 'Job', Value: 'verify' }], Threshold: 1, AlarmActions: [topicRef()] });
    expect(resourcesFor(statements, 'cloudwatch:SetAlarmState').map(flat)).toEqual([expect.stringMatching(/:alarm:offsite-bad-copies$/)]);
  });

  test('may write the verification records and nothing else: no delete, no write to copies or manifests', () => {
    // Prepare
    const fn = synth.functionOf(jobSpec('VerifyArchive'));

    // Act
    const statements = synth.statementsOfRole(fn.roleLogicalId);

    // Assess
    expect(resourcesFor(statements, 's3:PutObject').map(flat)).toEqual([`<${synth.archiveBucketId()}.Arn>/backups/_offsite/verification/*`]);
    expect(resourcesFor(statements, 's3:DeleteObject')).toEqual([]);
  });

  test('with a secondary reached by its role, may also write the secondary\'s verification records and nothing else there', () => {
    // Prepare
    const base = testConfig();
    const withSecondary = synthesize({ ...base, archive: { ...base.archive, secondary: { bucket: 'dr-offsite', prefix: 'mirror/', region: 'eu-central-1' } } }, { bundle: false, id: 'WithSecondary' });
    const fn = withSecondary.functionOf(jobSpec('VerifyArchive'));

    // Act
    const statements = withSecondary.statementsOfRole(fn.roleLogicalId);

    // Assess
    expect(resourcesFor(statements, 's3:PutObject').map(flat)).toEqual([`<${withSecondary.archiveBucketId()}.Arn>/backups/_offsite/verification/*`, 'arn:aws:s3:::dr-offsite/mirror/_offsite/verification/*']);
    expect(resourcesFor(statements, 's3:DeleteObject')).toEqual([]);
    const nag = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(withSecondary.app);
    expect(nag.violations.flatMap((violation) => violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`)).filter((finding) => /VerifyArchive/.test(finding))).toEqual([]);
  });

  test('archive.verify sets its schedule', () => {
    // Prepare
    const base = testConfig();
    const custom = synthesize({ ...base, archive: { ...base.archive, verify: { schedule: 'cron(0 4 ? * SUN *)', maxGiBPerRun: 10 } } }, { bundle: false, id: 'CustomVerify' });

    // Act
    const schedule = only(custom.resources('AWS::Scheduler::Schedule').filter(([, s]) => s.Properties.Name === 'customverify-verify'), 'verify schedule')[1] as Resource;

    // Assess
    expect(schedule.Properties.ScheduleExpression).toBe('cron(0 4 ? * SUN *)');
  });
});

describe('the secondary catch-up', () => {
  let withSecondary: SynthesizedStack;

  beforeAll(() => {
    const base = testConfig();
    const secondary = { bucket: 'offsite-second-copy', prefix: 'copies/', region: 'eu-central-1' };
    withSecondary = synthesize({ ...base, archive: { ...base.archive, secondary, verify: { schedule: 'cron(0 4 ? * SUN *)', maxGiBPerRun: 10 } } }, { bundle: false, id: 'WithSecondary' });
  });

  test('runs on the verify schedule only when a secondary is configured, and alarms naming the copies it could not make', () => {
    // Prepare
    const fn = withSecondary.functionOf(jobSpec('CatchUpSecondary'));

    // Act
    const schedule = only(withSecondary.resources('AWS::Scheduler::Schedule').filter(([, s]) => s.Properties.Name === 'withsecondary-secondary-catch-up'), 'catch-up schedule')[1];
    const alarm = only(withSecondary.resources('AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.AlarmName === 'withsecondary-secondary-catch-up-failed'), 'catch-up alarm')[1].Properties;
    const statements = withSecondary.statementsOfRole(fn.roleLogicalId);
    const withoutSecondary = synth.resources('AWS::Scheduler::Schedule').filter(([, s]) => String(s.Properties.Name).endsWith('secondary-catch-up'));

    // Assess
    expect(schedule.Properties).toMatchObject({ ScheduleExpression: 'cron(0 4 ? * SUN *)', ScheduleExpressionTimezone: 'Europe/Berlin' });
    expect(flat((schedule.Properties.Target as { Arn: unknown }).Arn)).toBe(`<${fn.logicalId}.Arn>`);
    expect(alarm).toMatchObject({ Namespace: 'offsite', MetricName: 'SecondaryCopiesFailed', Dimensions: [{ Name: 'Job', Value: 'secondary-catch-up' }], Threshold: 1, TreatMissingData: 'notBreaching' });
    expect(resourcesFor(statements, 'cloudwatch:SetAlarmState').map(flat)).toEqual([expect.stringMatching(/:alarm:withsecondary-secondary-catch-up-failed$/)]);
    expect((fn.properties.Environment as { Variables: Record<string, unknown> }).Variables.OFFSITE_SECONDARY_CATCH_UP_ALARM_NAME).toBe('withsecondary-secondary-catch-up-failed');
    expect(withoutSecondary).toEqual([]);
  });

  test('cdk-nag AwsSolutions reports nothing unacknowledged on the catch-up, its schedule and alarm', () => {
    // Act
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(withSecondary.app);
    const ours = report.violations
      .flatMap((violation) => violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`))
      .filter((finding) => /ArchiveJobs|CatchUpSecondary/.test(finding));

    // Assess
    expect(ours).toEqual([]);
  });
});

test('cdk-nag AwsSolutions reports nothing unacknowledged on the archive jobs, their schedules and the dashboard', () => {
  // Act
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(synth.app);
  const ours = report.violations
    .flatMap((violation) => violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`))
    .filter((finding) => /ArchiveJobs|VerifyArchive|CheckFreshness|Dashboard/.test(finding));

  // Assess
  expect(ours).toEqual([]);
});

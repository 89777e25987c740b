import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { LIFECYCLES } from '../../functions/catalog';
import { LifecycleAlarms } from '../../lib/alarms';
import { ACCOUNT, REGION, backupSpecs, flat, lifecycle, only, restoreSpecs, synthesize, testConfig, type Resource, type Statement, type SynthesizedStack } from '../support/infra';

// One synthesis for the whole file, without bundling (see synthesize in test/support/infra.ts).
let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesize(testConfig(), { bundle: false });
});

test('the test catalog has the backup and restore lifecycles the tests below check', () => {
  // Assess (otherwise loops over an empty list would pass without checking anything)
  for (const group of [backupSpecs, restoreSpecs]) {
    expect(group.length).toBeGreaterThan(0);
  }
});

describe('alarms', () => {
  const topicRef = (): { Ref: string } => ({ Ref: only(synth.resources('AWS::SNS::Topic'), 'alarm topic')[0] });

  test('each restore state machine alarms on any failed, timed-out or aborted execution, notifying the topic', () => {
    for (const spec of restoreSpecs) {
      // Act
      const alarms = synth.alarmsOn(spec);
      // Assess
      expect(alarms.map((alarm) => alarm.MetricName).sort()).toEqual(['ExecutionsAborted', 'ExecutionsFailed', 'ExecutionsTimedOut']);
      for (const alarm of alarms) {
        expect(alarm).toMatchObject({
          Namespace: 'AWS/States',
          Statistic: 'Sum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
          AlarmActions: [topicRef()],
        });
        expect(String(alarm.AlarmDescription).length).toBeGreaterThan(100);
      }
    }
  });

  test('each backup state machine alarms on any failed or timed-out execution, notifying the topic', () => {
    for (const spec of backupSpecs) {
      // Act
      const alarms = synth.alarmsOn(spec).filter((alarm) => alarm.ComparisonOperator === 'GreaterThanOrEqualToThreshold');
      // Assess
      expect(alarms.map((alarm) => alarm.MetricName).sort()).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
      for (const alarm of alarms) {
        expect(alarm).toMatchObject({ Period: 300, Threshold: 1, TreatMissingData: 'notBreaching', AlarmActions: [topicRef()] });
      }
    }
  });

  test('the appliance restore state machine alarms on failed, timed-out and aborted executions', () => {
    // Act
    const alarms = synth.alarmsOn(lifecycle('appliance', 'restore'));
    // Assess
    expect(alarms.map((alarm) => alarm.MetricName).sort()).toEqual(['ExecutionsAborted', 'ExecutionsFailed', 'ExecutionsTimedOut']);
    expect(alarms.map((alarm) => alarm.AlarmName).sort()).toEqual([
      'offsite-appliance-restore-aborted',
      'offsite-appliance-restore-failed',
      'offsite-appliance-restore-timed-out',
    ]);
  });

  test("alarm descriptions name their lifecycle's kind and state machine, and no other kind", () => {
    for (const spec of LIFECYCLES) {
      // Prepare
      const others = LIFECYCLES.map((candidate) => candidate.kind).filter((kind) => kind !== spec.kind);
      // Act
      const descriptions = synth.alarmsOn(spec).map((alarm) => String(alarm.AlarmDescription));
      // Assess
      expect(descriptions.length).toBeGreaterThan(0);
      for (const description of descriptions) {
        expect({ lifecycle: spec.id, namesKind: description.includes(`${spec.kind} target`) }).toEqual({ lifecycle: spec.id, namesKind: true });
        expect({ lifecycle: spec.id, namesMachine: description.includes(`offsite-${spec.kind}-${spec.purpose}`) }).toEqual({ lifecycle: spec.id, namesMachine: true });
        expect({ lifecycle: spec.id, otherKinds: others.filter((kind) => description.includes(`${kind} target`)) }).toEqual({ lifecycle: spec.id, otherKinds: [] });
        expect(description.length).toBeLessThanOrEqual(1024);
      }
    }
  });

  test('the topic is encrypted with a rotating KMS key that CloudWatch may use, and requires TLS', () => {
    // Prepare
    const [, topic] = only(synth.resources('AWS::SNS::Topic'), 'alarm topic');
    const keyId = flat(topic.Properties.KmsMasterKeyId).replace(/^<(.*)\.Arn>$/, '$1');
    // Act
    const key = synth.template.toJSON().Resources[keyId] as Resource;
    const topicPolicy = only(synth.resources('AWS::SNS::TopicPolicy'), 'topic policy')[1];
    // Assess
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect((key.Properties.KeyPolicy as { Statement: Statement[] }).Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
    );
    expect((topicPolicy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  test('alarmEmail is subscribed to the topic', () => {
    // Assess
    synth.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: topicRef() });
  });

  test('without alarmEmail there is no subscription', () => {
    // Prepare (the construct alone: no bundling)
    const scope = new Stack(new App(), 'AlarmsOnly', { env: { account: ACCOUNT, region: REGION } });
    const machine = new sfn.StateMachine(scope, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(scope, 'Pass')) });
    // Act
    new LifecycleAlarms(scope, 'Alarms', {
      lifecycles: [{ purpose: 'backup', kind: 'netbox-cloud', stateMachine: machine, stateMachineName: 'test-netbox-cloud-backup' }],
    });
    const alarmsOnly = Template.fromStack(scope);
    // Assess
    alarmsOnly.resourceCountIs('AWS::SNS::Subscription', 0);
    // Failed and timed out: whether the target has a fresh copy is the freshness check's alarm (lib/archive-jobs.ts).
    alarmsOnly.resourceCountIs('AWS::CloudWatch::Alarm', 2);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FUNCTIONS, LIFECYCLES, functionArnPlaceholder, type FunctionSpec, type LifecycleSpec } from '../../functions/catalog';
import { parseConfig } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { CONFIG_PARAMETER_ENV as RUNTIME_CONFIG_PARAMETER_ENV } from '../../functions/runtime/config-source';
import { LifecycleAlarms } from '../../lib/alarms';
import { LifecycleStateMachine, placeholdersIn } from '../../lib/lifecycle-state-machine';
import { CONFIG_PARAMETER_ENV, REPO_ROOT } from '../../lib/offsite-function';
import { OffsiteStack } from '../../lib/offsite-stack';

// ---------------------------------------------------------------------------------
// One synthesis for the whole file (bundling ten functions takes seconds).
// ---------------------------------------------------------------------------------

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const LAB_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:offsite/netbox-lab-AbCdEf`;

function testConfig(overrides: Partial<Record<'alarmEmail', string | undefined>> = {}): OffsiteConfig {
  const raw = {
    archive: { bucket: 'test-offsite-archive', prefix: 'backups/', region: REGION },
    timezone: 'Europe/Berlin',
    alarmEmail: 'oncall@example.com',
    targets: [
      {
        name: 'netbox-prod',
        kind: 'netbox-cloud',
        baseUrl: 'https://api.netboxlabs.com',
        orgId: 'org-123',
        instanceId: 'nb-a12ff000777',
        credentials: { secret: 'offsite/netbox-prod' },
        schedule: 'cron(0 2 * * ? *)',
      },
      {
        name: 'netbox-lab',
        kind: 'netbox-cloud',
        baseUrl: 'https://api.netboxlabs.com',
        orgId: 'org-123',
        instanceId: 'nb-b34ee000888',
        credentials: { secret: LAB_SECRET_ARN },
      },
    ],
    ...overrides,
  };
  return parseConfig(raw, 'test config');
}

let app: App;
let stack: OffsiteStack;
let template: Template;

beforeAll(() => {
  app = new App();
  stack = new OffsiteStack(app, 'Offsite', { config: testConfig(), env: { account: ACCOUNT, region: REGION } });
  template = Template.fromStack(stack);
});

// ---------------------------------------------------------------------------------
// Template helpers: flatten CloudFormation intrinsics into readable strings.
// ---------------------------------------------------------------------------------

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

/** Renders Fn::Join / Ref / Fn::GetAtt as a string: `<LogicalId>`, `<LogicalId.Arn>`, partition "aws". */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(flat).join(separator);
    }
    if ('Ref' in object) return object.Ref === 'AWS::Partition' ? 'aws' : `<${String(object.Ref)}>`;
    if ('Fn::GetAtt' in object) {
      const [logicalId, attribute] = object['Fn::GetAtt'] as [string, string];
      return `<${logicalId}.${attribute}>`;
    }
  }
  return JSON.stringify(value);
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function resources(type: string): [string, Resource][] {
  return Object.entries(template.findResources(type) as Record<string, Resource>);
}

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0] as T;
}

/** All statements of the inline policies attached to a role. */
function statementsOfRole(roleLogicalId: string): Statement[] {
  return resources('AWS::IAM::Policy')
    .filter(([, policy]) => asArray(policy.Properties.Roles as unknown[]).some((role) => flat(role) === `<${roleLogicalId}>`))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

function allowedActions(statements: Statement[]): string[] {
  return statements.filter((statement) => statement.Effect === 'Allow').flatMap((statement) => asArray(statement.Action));
}

function resourcesFor(statements: Statement[], action: string): string[] {
  return statements
    .filter((statement) => statement.Effect === 'Allow' && asArray(statement.Action).includes(action))
    .flatMap((statement) => asArray(statement.Resource).map(flat));
}

function functionOf(spec: FunctionSpec): { logicalId: string; properties: Record<string, unknown>; roleLogicalId: string } {
  const [logicalId, fn] = only(
    resources('AWS::Lambda::Function').filter(([, candidate]) => candidate.Properties.Description === spec.description),
    `function for ${spec.id}`,
  );
  const roleLogicalId = flat(fn.Properties.Role).replace(/^<(.*)\.Arn>$/, '$1');
  return { logicalId, properties: fn.Properties, roleLogicalId };
}

function catalogIdOfFunctionArn(arn: string): string {
  const spec = FUNCTIONS.find((candidate) => `<${functionOf(candidate).logicalId}.Arn>` === arn);
  return spec?.id ?? `(not a catalog function: ${arn})`;
}

function stateMachineOf(spec: LifecycleSpec): { logicalId: string; properties: Record<string, unknown> } {
  const [logicalId, machine] = only(
    resources('AWS::StepFunctions::StateMachine').filter(([, candidate]) => candidate.Properties.StateMachineName === `offsite-${spec.kind}-${spec.purpose}`),
    `state machine for ${spec.id}`,
  );
  return { logicalId, properties: machine.Properties };
}

function alarmsOn(spec: LifecycleSpec): Record<string, unknown>[] {
  const { logicalId } = stateMachineOf(spec);
  return resources('AWS::CloudWatch::Alarm')
    .map(([, alarm]) => alarm.Properties)
    .filter((alarm) => (alarm.Dimensions as { Name: string; Value: unknown }[]).some((d) => d.Name === 'StateMachineArn' && flat(d.Value) === `<${logicalId}>`));
}

function aslPlaceholders(spec: LifecycleSpec): string[] {
  return placeholdersIn(readFileSync(join(REPO_ROOT, spec.definitionFile), 'utf8'));
}

const copySpec = FUNCTIONS.find((spec) => spec.archive === 'write');
const backupSpecs = LIFECYCLES.filter((spec) => spec.purpose === 'backup');
const restoreSpecs = LIFECYCLES.filter((spec) => spec.purpose === 'restore');

// ---------------------------------------------------------------------------------
// Archive bucket
// ---------------------------------------------------------------------------------

describe('archive bucket', () => {
  test('is named from the config, S3-encrypted, fully private, versioned and retained', () => {
    // Prepare / Act: synthesized once in beforeAll.
    // Assess
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketName: 'test-offsite-archive',
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        VersioningConfiguration: { Status: 'Enabled' },
      },
    });
  });

  test('bucket policy denies every request without TLS', () => {
    // Prepare
    const [bucketId] = only(resources('AWS::S3::Bucket').filter(([, b]) => b.Properties.BucketName === 'test-offsite-archive'), 'archive bucket');
    // Act
    const policy = only(
      resources('AWS::S3::BucketPolicy').filter(([, p]) => flat(p.Properties.Bucket) === `<${bucketId}>`),
      'archive bucket policy',
    )[1];
    const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    // Assess
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  test('aborts incomplete multipart uploads after one day and expires noncurrent versions after 90 days', () => {
    // Assess
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'test-offsite-archive',
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
          Match.objectLike({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 90 } }),
        ]),
      },
    });
  });

  test('writes server access logs to a separate encrypted, private, TLS-only bucket', () => {
    // Prepare
    const archive = only(resources('AWS::S3::Bucket').filter(([, b]) => b.Properties.BucketName === 'test-offsite-archive'), 'archive bucket')[1];
    const logBucketId = flat((archive.Properties.LoggingConfiguration as { DestinationBucketName: unknown }).DestinationBucketName).replace(/[<>]/g, '');
    // Act
    const logBucket = template.toJSON().Resources[logBucketId] as Resource;
    const logPolicy = only(resources('AWS::S3::BucketPolicy').filter(([, p]) => flat(p.Properties.Bucket) === `<${logBucketId}>`), 'log bucket policy')[1];
    // Assess
    expect(logBucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    expect((logPolicy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });
});

// ---------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------

describe('functions', () => {
  test('one function per catalog entry, nodejs22.x on arm64, X-Ray active, memory and timeout from the catalog', () => {
    for (const spec of FUNCTIONS) {
      // Act
      const { properties } = functionOf(spec);
      // Assess
      expect({ id: spec.id, ...properties }).toMatchObject({
        id: spec.id,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        MemorySize: spec.memoryMb,
        Timeout: spec.timeoutSeconds,
      });
    }
    expect(resources('AWS::Lambda::Function')).toHaveLength(FUNCTIONS.length);
  });

  test('each function logs to a log group of its own with a retention', () => {
    // Act
    const logGroupIds = FUNCTIONS.map((spec) => flat((functionOf(spec).properties.LoggingConfig as { LogGroup: unknown }).LogGroup).replace(/[<>]/g, ''));
    // Assess
    expect(new Set(logGroupIds).size).toBe(FUNCTIONS.length);
    for (const logGroupId of logGroupIds) {
      const logGroup = template.toJSON().Resources[logGroupId] as Resource;
      expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup.Properties.RetentionInDays).toBe(90);
    }
  });

  test('each function gets the Powertools settings and the config parameter name under the variable the runtime reads', () => {
    // Prepare
    const [parameterId] = only(resources('AWS::SSM::Parameter'), 'config parameter');
    // Act / Assess
    expect(CONFIG_PARAMETER_ENV).toBe(RUNTIME_CONFIG_PARAMETER_ENV);
    for (const spec of FUNCTIONS) {
      const variables = (functionOf(spec).properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect({ id: spec.id, ...variables }).toEqual({
        id: spec.id,
        POWERTOOLS_SERVICE_NAME: 'offsite',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // Source maps everywhere; the copier also runs with the small young generation
        // its memory bound was measured with.
        NODE_OPTIONS: spec.id === 'CopyToArchive' ? '--enable-source-maps --max-semi-space-size=1' : '--enable-source-maps',
        [RUNTIME_CONFIG_PARAMETER_ENV]: { Ref: parameterId },
      });
    }
  });

  test('the config parameter holds the validated configuration as JSON', () => {
    // Act
    const parameter = only(resources('AWS::SSM::Parameter'), 'config parameter')[1];
    // Assess
    expect(parameter.Properties).toMatchObject({ Type: 'String', Tier: 'Standard', Name: '/Offsite/config' });
    expect(parseConfig(JSON.parse(parameter.Properties.Value as string), 'parameter')).toEqual(testConfig());
  });

  test('each function may read the config parameter (ssm:GetParameter on it, nothing else in SSM)', () => {
    // Prepare
    const [parameterId] = only(resources('AWS::SSM::Parameter'), 'config parameter');
    for (const spec of FUNCTIONS) {
      // Act
      const statements = statementsOfRole(functionOf(spec).roleLogicalId);
      // Assess
      expect(allowedActions(statements).filter((action) => action.startsWith('ssm:'))).toEqual(['ssm:GetParameter']);
      expect(resourcesFor(statements, 'ssm:GetParameter')).toEqual([`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter<${parameterId}>`]);
    }
  });

  test('the copy function may write, abort and delete archive objects under the prefix only', () => {
    // Prepare
    if (!copySpec) throw new Error('the catalog has no archive-writing function');
    const [bucketId] = only(resources('AWS::S3::Bucket').filter(([, b]) => b.Properties.BucketName === 'test-offsite-archive'), 'archive bucket');
    // Act
    const s3Statements = statementsOfRole(functionOf(copySpec).roleLogicalId).filter((statement) =>
      asArray(statement.Action).some((action) => action.startsWith('s3:')),
    );
    // Assess
    expect(s3Statements).toHaveLength(1);
    expect([...asArray(s3Statements[0]?.Action ?? [])].sort()).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:ListMultipartUploadParts', 's3:PutObject']);
    expect(asArray(s3Statements[0]?.Resource).map(flat)).toEqual([`<${bucketId}.Arn>/backups/*`]);
  });

  test('no other function has any S3 action', () => {
    for (const spec of FUNCTIONS.filter((candidate) => candidate.archive === 'none')) {
      // Act
      const s3Actions = allowedActions(statementsOfRole(functionOf(spec).roleLogicalId)).filter((action) => action.startsWith('s3:'));
      // Assess
      expect({ id: spec.id, s3Actions }).toEqual({ id: spec.id, s3Actions: [] });
    }
  });

  test('functions may read exactly the secrets the targets reference', () => {
    // Prepare
    const expected = [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:offsite/netbox-prod-??????`, LAB_SECRET_ARN];
    for (const spec of FUNCTIONS) {
      // Act
      const statements = statementsOfRole(functionOf(spec).roleLogicalId);
      // Assess
      expect(allowedActions(statements).filter((action) => action.startsWith('secretsmanager:'))).toEqual(['secretsmanager:GetSecretValue']);
      expect(resourcesFor(statements, 'secretsmanager:GetSecretValue').sort()).toEqual([...expected].sort());
    }
  });

  test('function roles may write only to their own log group (no AWSLambdaBasicExecutionRole)', () => {
    for (const spec of FUNCTIONS) {
      // Prepare
      const { properties, roleLogicalId } = functionOf(spec);
      const logGroupId = flat((properties.LoggingConfig as { LogGroup: unknown }).LogGroup).replace(/[<>]/g, '');
      const role = template.toJSON().Resources[roleLogicalId] as Resource;
      // Act
      const statements = statementsOfRole(roleLogicalId);
      // Assess
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(resourcesFor(statements, 'logs:PutLogEvents')).toEqual([`<${logGroupId}.Arn>`]);
    }
  });
});

// ---------------------------------------------------------------------------------
// State machines
// ---------------------------------------------------------------------------------

describe('state machines', () => {
  test('every placeholder of each ASL file is substituted with a catalog function ARN', () => {
    for (const spec of LIFECYCLES) {
      // Prepare
      const { properties } = stateMachineOf(spec);
      const substitutions = Object.fromEntries(
        Object.entries(properties.DefinitionSubstitutions as Record<string, unknown>).map(([key, value]) => [key, flat(value)]),
      );
      // Act
      const substituted = (properties.DefinitionString as string).replace(/\$\{([^}]*)\}/g, (whole, name: string) => substitutions[name] ?? whole);
      const leftOver = substituted.match(/\$\{[^}]*\}/g) ?? [];
      // Assess
      expect({ lifecycle: spec.id, leftOver }).toEqual({ lifecycle: spec.id, leftOver: [] });
      expect(Object.keys(substitutions).sort()).toEqual(aslPlaceholders(spec).sort());
      for (const [placeholder, arn] of Object.entries(substitutions)) {
        expect(functionArnPlaceholder(catalogIdOfFunctionArn(arn))).toBe(placeholder);
      }
    }
  });

  test('each state machine role may invoke exactly the functions its ASL file uses', () => {
    for (const spec of LIFECYCLES) {
      // Prepare
      const { properties } = stateMachineOf(spec);
      const roleLogicalId = flat(properties.RoleArn).replace(/^<(.*)\.Arn>$/, '$1');
      const expected = aslPlaceholders(spec).map((placeholder) => placeholder.replace(/FunctionArn$/, '')).sort();
      // Act
      const statements = statementsOfRole(roleLogicalId);
      const invocable = resourcesFor(statements, 'lambda:InvokeFunction').map(catalogIdOfFunctionArn).sort();
      // Assess
      expect({ lifecycle: spec.id, invocable }).toEqual({ lifecycle: spec.id, invocable: expected });
      expect(allowedActions(statements).filter((action) => action.startsWith('lambda:'))).toEqual(['lambda:InvokeFunction']);
    }
  });

  test('log ALL events with execution data to a log group with retention, and trace with X-Ray', () => {
    for (const spec of LIFECYCLES) {
      // Act
      const { properties } = stateMachineOf(spec);
      const logGroupId = flat(
        (properties.LoggingConfiguration as { Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[] }).Destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn,
      ).replace(/^<(.*)\.Arn>$/, '$1');
      const logGroup = template.toJSON().Resources[logGroupId] as Resource;
      // Assess
      expect(properties).toMatchObject({ LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true }, TracingConfiguration: { Enabled: true } });
      expect(logGroup.Properties).toMatchObject({ LogGroupName: `/aws/vendedlogs/states/offsite-${spec.kind}-${spec.purpose}`, RetentionInDays: 90 });
    }
  });

  test('each definition carries the catalog timeout as TimeoutSeconds', () => {
    for (const spec of LIFECYCLES) {
      // Act
      const definition = JSON.parse(stateMachineOf(spec).properties.DefinitionString as string) as { TimeoutSeconds?: number };
      // Assess
      expect(definition.TimeoutSeconds).toBe(spec.timeoutHours * 3600);
    }
  });

  test('a placeholder without a catalog function fails synthesis with a clear message', () => {
    // Prepare
    const repoRoot = mkdtempSync(join(tmpdir(), 'offsite-asl-'));
    try {
      writeFileSync(
        join(repoRoot, 'broken.asl.json'),
        JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Task', Resource: '${NoSuchStepFunctionArn}', End: true } } }),
      );
      const scope = new Stack(new App(), 'Broken');
      const fn = new lambda.Function(scope, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>1') });
      const spec: LifecycleSpec = { id: 'Broken', kind: 'netbox-cloud', purpose: 'backup', definitionFile: 'broken.asl.json', timeoutHours: 1 };
      // Act
      const build = (): unknown => new LifecycleStateMachine(scope, 'Broken', { spec, functions: new Map([['Known', fn]]), namePrefix: 'test', repoRoot });
      // Assess
      expect(build).toThrow(/broken\.asl\.json .*\$\{NoSuchStepFunctionArn\}.*no function in functions\/catalog\.ts.*\$\{KnownFunctionArn\}/);
    } finally {
      rmSync(repoRoot, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------

describe('schedules', () => {
  test('one schedule per scheduled target, in the configured time zone, starting its backup machine with {"target": name}', () => {
    // Prepare
    const backup = only(backupSpecs, 'backup lifecycle');
    const { logicalId: backupId } = stateMachineOf(backup);
    // Act
    const schedules = resources('AWS::Scheduler::Schedule').map(([, schedule]) => schedule.Properties);
    // Assess
    expect(schedules).toHaveLength(1);
    expect(schedules[0]).toMatchObject({
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      Target: { Arn: { Ref: backupId }, Input: JSON.stringify({ target: 'netbox-prod' }) },
    });
  });

  test('the scheduler role may only start the backup state machine', () => {
    // Prepare
    const schedule = only(resources('AWS::Scheduler::Schedule'), 'schedule')[1];
    const roleLogicalId = flat((schedule.Properties.Target as { RoleArn: unknown }).RoleArn).replace(/^<(.*)\.Arn>$/, '$1');
    const { logicalId: backupId } = stateMachineOf(only(backupSpecs, 'backup lifecycle'));
    // Act
    const statements = statementsOfRole(roleLogicalId);
    // Assess
    expect(allowedActions(statements)).toEqual(['states:StartExecution']);
    expect(resourcesFor(statements, 'states:StartExecution')).toEqual([`<${backupId}>`]);
  });
});

// ---------------------------------------------------------------------------------
// Alarms
// ---------------------------------------------------------------------------------

describe('alarms', () => {
  const topicRef = (): { Ref: string } => ({ Ref: only(resources('AWS::SNS::Topic'), 'alarm topic')[0] });

  test('each restore state machine alarms on any failed, timed-out or aborted execution, notifying the topic', () => {
    for (const spec of restoreSpecs) {
      // Act
      const alarms = alarmsOn(spec);
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
      const alarms = alarmsOn(spec).filter((alarm) => alarm.ComparisonOperator === 'GreaterThanOrEqualToThreshold');
      // Assess
      expect(alarms.map((alarm) => alarm.MetricName).sort()).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
      for (const alarm of alarms) {
        expect(alarm).toMatchObject({ Period: 300, Threshold: 1, TreatMissingData: 'notBreaching', AlarmActions: [topicRef()] });
      }
    }
  });

  test('a backup state machine with a scheduled target alarms when no execution succeeded for a day', () => {
    // Prepare
    const backup = only(backupSpecs, 'backup lifecycle');
    // Act
    const missing = alarmsOn(backup).filter((alarm) => alarm.MetricName === 'ExecutionsSucceeded');
    // Assess
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({
      Statistic: 'Sum',
      Period: 86400,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [topicRef()],
    });
    expect(String(missing[0]?.AlarmDescription)).toContain('netbox-prod');
  });

  test('the topic is encrypted with a rotating KMS key that CloudWatch may use, and requires TLS', () => {
    // Prepare
    const [, topic] = only(resources('AWS::SNS::Topic'), 'alarm topic');
    const keyId = flat(topic.Properties.KmsMasterKeyId).replace(/^<(.*)\.Arn>$/, '$1');
    // Act
    const key = template.toJSON().Resources[keyId] as Resource;
    const topicPolicy = only(resources('AWS::SNS::TopicPolicy'), 'topic policy')[1];
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
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: topicRef() });
  });

  test('without alarmEmail there is no subscription', () => {
    // Prepare (the construct alone: no bundling)
    const scope = new Stack(new App(), 'AlarmsOnly', { env: { account: ACCOUNT, region: REGION } });
    const machine = new sfn.StateMachine(scope, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(scope, 'Pass')) });
    // Act
    new LifecycleAlarms(scope, 'Alarms', {
      lifecycles: [{ purpose: 'backup', kind: 'netbox-cloud', stateMachine: machine, stateMachineName: 'test-netbox-cloud-backup', scheduledTargets: ['netbox-prod'] }],
    });
    const alarmsOnly = Template.fromStack(scope);
    // Assess
    alarmsOnly.resourceCountIs('AWS::SNS::Subscription', 0);
    alarmsOnly.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  });
});

// ---------------------------------------------------------------------------------
// Stack-wide checks
// ---------------------------------------------------------------------------------

describe('stack', () => {
  test('outputs the bucket name, the alarm topic and every state machine ARN', () => {
    // Act
    const outputs = Object.keys(template.findOutputs('*'));
    // Assess
    expect(outputs.sort()).toEqual(['AlarmTopicArn', 'ArchiveBucketName', ...LIFECYCLES.map((spec) => `${spec.id}StateMachineArn`)].sort());
  });

  test('cdk-nag AwsSolutions reports no unacknowledged errors or warnings', () => {
    // Act
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
    const findings = report.violations.map(
      (violation) => `${violation.severity} ${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}: ${violation.description}`,
    );
    // Assess
    expect(findings).toEqual([]);
    // The construct-library annotations (errors/warnings of our own and of CDK) are clean too.
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('a stack region different from archive.region is a synthesis error', () => {
    // Prepare (no bundling needed to see the annotation)
    const other = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    // Act
    const wrongRegion = new OffsiteStack(other, 'WrongRegion', { config: testConfig(), env: { account: ACCOUNT, region: 'us-east-1' } });
    // Assess
    Annotations.fromStack(wrongRegion).hasError('*', Match.stringLikeRegexp('archive\\.region is eu-west-1'));
  });
});

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
// One synthesis for the whole file (bundling twenty functions takes seconds); the
// placement without `network` is checked on a second synthesis without bundling.
// ---------------------------------------------------------------------------------

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const LAB_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:offsite/netbox-lab-AbCdEf`;
const NP01_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:offsite/appliance-np01-oauth-GhIjKl`;
const NETWORK = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  securityGroupIds: ['sg-0123456789abcdef0', 'sg-0123456789abcdef1'],
};
const TEST_CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBtestonly\n-----END CERTIFICATE-----\n';

/** The IAM resource a secret referenced by name becomes (its ARN ends in six random characters). */
const secretNamed = (name: string): string => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-??????`;

const NETBOX_SECRETS = [secretNamed('offsite/netbox-prod'), LAB_SECRET_ARN];
const APPLIANCE_SECRETS = [secretNamed('offsite/appliance-ar11'), secretNamed('offsite/appliance-ar11-ca'), NP01_SECRET_ARN];

function applianceTargets(): unknown[] {
  return [
    {
      name: 'appliance-ar11',
      kind: 'appliance',
      baseUrl: 'https://ar11.example.net',
      auth: { method: 'token', username: 'offsite-backup', password: { secret: 'offsite/appliance-ar11' } },
      tls: { ca: { secret: 'offsite/appliance-ar11-ca' } },
      schedule: 'cron(30 2 * * ? *)',
      applianceKeep: 1,
    },
    {
      name: 'appliance-np01',
      kind: 'appliance',
      baseUrl: 'https://np01.example.net',
      auth: { method: 'oauth2', secret: { secret: NP01_SECRET_ARN } },
      tls: { ca: { pem: TEST_CA_PEM } },
    },
  ];
}

function testConfig(overrides: Partial<Record<'alarmEmail' | 'network' | 'targets', unknown>> = {}): OffsiteConfig {
  const raw = {
    archive: { bucket: 'test-offsite-archive', prefix: 'backups/', region: REGION },
    timezone: 'Europe/Berlin',
    alarmEmail: 'oncall@example.com',
    network: NETWORK,
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
      ...applianceTargets(),
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

function lifecycle(kind: LifecycleSpec['kind'], purpose: LifecycleSpec['purpose']): LifecycleSpec {
  return only(
    LIFECYCLES.filter((spec) => spec.kind === kind && spec.purpose === purpose),
    `${purpose} lifecycle of ${kind}`,
  );
}

function archiveBucketId(): string {
  return only(resources('AWS::S3::Bucket').filter(([, b]) => b.Properties.BucketName === 'test-offsite-archive'), 'archive bucket')[0];
}

function s3StatementsOf(spec: FunctionSpec): Statement[] {
  return statementsOfRole(functionOf(spec).roleLogicalId).filter((statement) => asArray(statement.Action).some((action) => action.startsWith('s3:')));
}

function secretsReadableBy(spec: FunctionSpec): string[] {
  return resourcesFor(statementsOfRole(functionOf(spec).roleLogicalId), 'secretsmanager:GetSecretValue').sort();
}

// Widened to FunctionSpec so that filters on values the catalog may not use yet still type-check.
const catalog: readonly FunctionSpec[] = FUNCTIONS;
const writeSpecs = catalog.filter((spec) => spec.archive === 'write');
const readSpecs = catalog.filter((spec) => spec.archive === 'read');
const applianceNetworkSpecs = catalog.filter((spec) => spec.network === 'appliance');
const internetSpecs = catalog.filter((spec) => spec.network === 'internet');
const netboxSpecs = catalog.filter((spec) => spec.kind === 'netbox-cloud');
const applianceSpecs = catalog.filter((spec) => spec.kind === 'appliance');
const backupSpecs = LIFECYCLES.filter((spec) => spec.purpose === 'backup');
const restoreSpecs = LIFECYCLES.filter((spec) => spec.purpose === 'restore');

test('the test catalog has functions of every archive access, network and kind the tests below check', () => {
  // Assess (otherwise loops over an empty list would pass without checking anything)
  for (const group of [writeSpecs, readSpecs, applianceNetworkSpecs, internetSpecs, netboxSpecs, applianceSpecs]) {
    expect(group.length).toBeGreaterThan(0);
  }
});

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
        // Source maps everywhere (the catalog value, see below for the copiers).
        NODE_OPTIONS: spec.nodeOptions,
        [RUNTIME_CONFIG_PARAMETER_ENV]: { Ref: parameterId },
      });
    }
    // The copiers run with the small young generation their memory bound was measured with.
    for (const spec of writeSpecs) {
      expect({ id: spec.id, NODE_OPTIONS: (functionOf(spec).properties.Environment as { Variables: Record<string, unknown> }).Variables.NODE_OPTIONS }).toEqual({
        id: spec.id,
        NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=1',
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

  test("'write' functions (the copiers) may write, abort and delete archive objects under the prefix only", () => {
    // Prepare
    const bucketId = archiveBucketId();
    for (const spec of writeSpecs) {
      // Act
      const s3Statements = s3StatementsOf(spec);
      // Assess
      expect({ id: spec.id, statements: s3Statements.length }).toEqual({ id: spec.id, statements: 1 });
      expect([...asArray(s3Statements[0]?.Action ?? [])].sort()).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:ListMultipartUploadParts', 's3:PutObject']);
      expect(asArray(s3Statements[0]?.Resource).map(flat)).toEqual([`<${bucketId}.Arn>/backups/*`]);
    }
  });

  test("'read' functions may get archive objects under the prefix and list keys under the prefix only", () => {
    // Prepare
    const bucketId = archiveBucketId();
    for (const spec of readSpecs) {
      // Act
      const s3Statements = s3StatementsOf(spec);
      // Assess
      expect({ id: spec.id, actions: allowedActions(s3Statements).sort() }).toEqual({ id: spec.id, actions: ['s3:GetObject', 's3:ListBucket'] });
      expect(resourcesFor(s3Statements, 's3:GetObject')).toEqual([`<${bucketId}.Arn>/backups/*`]);
      const list = only(s3Statements.filter((statement) => asArray(statement.Action).includes('s3:ListBucket')), `ListBucket statement of ${spec.id}`);
      expect(asArray(list.Resource).map(flat)).toEqual([`<${bucketId}.Arn>`]);
      expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['backups/*'] } });
    }
  });

  test("'read' functions can neither put nor delete archive objects", () => {
    for (const spec of readSpecs) {
      // Act
      const s3Actions = allowedActions(s3StatementsOf(spec));
      // Assess
      for (const forbidden of ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:AbortMultipartUpload', 's3:*']) {
        expect({ id: spec.id, grants: forbidden, allowed: s3Actions.includes(forbidden) }).toEqual({ id: spec.id, grants: forbidden, allowed: false });
      }
    }
  });

  test("'none' functions have no S3 action", () => {
    for (const spec of catalog.filter((candidate) => candidate.archive === 'none')) {
      // Act
      const s3Actions = allowedActions(statementsOfRole(functionOf(spec).roleLogicalId)).filter((action) => action.startsWith('s3:'));
      // Assess
      expect({ id: spec.id, s3Actions }).toEqual({ id: spec.id, s3Actions: [] });
    }
  });

  test('functions may read exactly the secrets that targets of their own kind reference', () => {
    for (const spec of catalog) {
      // Prepare
      const expected = spec.kind === 'appliance' ? APPLIANCE_SECRETS : NETBOX_SECRETS;
      // Act
      const statements = statementsOfRole(functionOf(spec).roleLogicalId);
      // Assess
      expect({ id: spec.id, actions: allowedActions(statements).filter((action) => action.startsWith('secretsmanager:')) }).toEqual({
        id: spec.id,
        actions: ['secretsmanager:GetSecretValue'],
      });
      expect({ id: spec.id, secrets: secretsReadableBy(spec) }).toEqual({ id: spec.id, secrets: [...expected].sort() });
    }
  });

  test('appliance functions can read the appliance password and CA secrets; netbox functions cannot', () => {
    // Prepare
    const password = secretNamed('offsite/appliance-ar11');
    const ca = secretNamed('offsite/appliance-ar11-ca');
    for (const spec of applianceSpecs) {
      // Act / Assess
      expect({ id: spec.id, secrets: secretsReadableBy(spec) }).toEqual({ id: spec.id, secrets: expect.arrayContaining([password, ca, NP01_SECRET_ARN]) });
    }
    for (const spec of netboxSpecs) {
      // Act
      const readable = secretsReadableBy(spec);
      // Assess
      expect({ id: spec.id, readable: readable.filter((arn) => APPLIANCE_SECRETS.includes(arn) || arn.includes('appliance')) }).toEqual({ id: spec.id, readable: [] });
    }
  });

  test('netbox functions can read the NetBox Cloud secrets; appliance functions cannot', () => {
    for (const spec of netboxSpecs) {
      // Act / Assess
      expect({ id: spec.id, secrets: secretsReadableBy(spec) }).toEqual({ id: spec.id, secrets: expect.arrayContaining(NETBOX_SECRETS) });
    }
    for (const spec of applianceSpecs) {
      // Act
      const readable = secretsReadableBy(spec);
      // Assess
      expect({ id: spec.id, readable: readable.filter((arn) => NETBOX_SECRETS.includes(arn) || arn.includes('netbox')) }).toEqual({ id: spec.id, readable: [] });
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
// Network placement
// ---------------------------------------------------------------------------------

describe('network placement', () => {
  // A second synthesis: the same catalog without `network`, appliance credentials from the
  // environment and the CA inline (no secret at all for that kind). Not bundled.
  let withoutNetwork: OffsiteStack;
  let withoutNetworkTemplate: Template;

  beforeAll(() => {
    const config = testConfig({
      network: undefined,
      targets: [
        {
          name: 'netbox-prod',
          kind: 'netbox-cloud',
          baseUrl: 'https://api.netboxlabs.com',
          orgId: 'org-123',
          instanceId: 'nb-a12ff000777',
          credentials: { secret: 'offsite/netbox-prod' },
        },
        {
          name: 'appliance-ar11',
          kind: 'appliance',
          baseUrl: 'https://ar11.example.net',
          auth: { method: 'basic', username: 'offsite-backup', password: { env: 'AR11_PASSWORD' } },
          tls: { ca: { pem: TEST_CA_PEM } },
          schedule: 'cron(30 2 * * ? *)',
        },
      ],
    });
    const other = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    withoutNetwork = new OffsiteStack(other, 'NoNetwork', { config, env: { account: ACCOUNT, region: REGION } });
    withoutNetworkTemplate = Template.fromStack(withoutNetwork);
  });

  test("functions with network 'appliance' are in the configured VPC: exactly the configured subnets and security groups", () => {
    for (const spec of applianceNetworkSpecs) {
      // Act
      const { properties } = functionOf(spec);
      // Assess
      expect({ id: spec.id, VpcConfig: properties.VpcConfig }).toEqual({
        id: spec.id,
        VpcConfig: { SubnetIds: NETWORK.subnetIds, SecurityGroupIds: NETWORK.securityGroupIds },
      });
    }
  });

  test("functions with network 'internet' are never in a VPC", () => {
    for (const spec of internetSpecs) {
      // Act
      const { properties } = functionOf(spec);
      // Assess
      expect({ id: spec.id, VpcConfig: properties.VpcConfig }).toEqual({ id: spec.id, VpcConfig: undefined });
    }
  });

  test('the imported security groups are used as they are: no security group or rule is created', () => {
    // Act
    const created = ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress', 'AWS::EC2::VPC', 'AWS::EC2::Subnet'].flatMap((type) =>
      resources(type).map(([logicalId]) => `${type} ${logicalId}`),
    );
    // Assess
    expect(created).toEqual([]);
  });

  test('functions in the VPC may manage their network interfaces, without the AWS managed VPC policy; the others may not', () => {
    for (const spec of catalog) {
      // Prepare
      const { roleLogicalId } = functionOf(spec);
      const role = template.toJSON().Resources[roleLogicalId] as Resource;
      // Act
      const ec2Actions = allowedActions(statementsOfRole(roleLogicalId)).filter((action) => action.startsWith('ec2:')).sort();
      // Assess
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect({ id: spec.id, ec2Actions }).toEqual({
        id: spec.id,
        ec2Actions:
          spec.network === 'appliance'
            ? [
                'ec2:AssignPrivateIpAddresses',
                'ec2:CreateNetworkInterface',
                'ec2:DeleteNetworkInterface',
                'ec2:DescribeNetworkInterfaces',
                'ec2:DescribeSubnets',
                'ec2:UnassignPrivateIpAddresses',
              ]
            : [],
      });
    }
  });

  test('without network no function is in a VPC', () => {
    // Act
    const withVpc = Object.entries(withoutNetworkTemplate.findResources('AWS::Lambda::Function') as Record<string, Resource>)
      .filter(([, fn]) => fn.Properties.VpcConfig !== undefined)
      .map(([logicalId]) => logicalId);
    // Assess
    expect(withVpc).toEqual([]);
    withoutNetworkTemplate.resourceCountIs('AWS::Lambda::Function', FUNCTIONS.length);
  });

  test('without network, appliance targets give a warning that the appliance functions are not in a VPC', () => {
    // Act
    const warnings = Annotations.fromStack(withoutNetwork).findWarning('*', Match.stringLikeRegexp('appliance functions are not in a VPC'));
    // Assess
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.entry.data)).toContain('can only reach appliances with public addresses');
    expect(String(warnings[0]?.entry.data)).toContain('appliance-ar11');
  });

  test('an appliance password from the environment is a deployment warning naming the field', () => {
    // Assess
    Annotations.fromStack(withoutNetwork).hasWarning('*', Match.stringLikeRegexp('"appliance-ar11" uses auth\\.password\\.env \\(AR11_PASSWORD\\)'));
  });

  test('no secret grant at all for a kind whose targets reference no secret', () => {
    // Prepare
    const byDescription = new Map(
      Object.values(withoutNetworkTemplate.findResources('AWS::Lambda::Function') as Record<string, Resource>).map((fn) => [
        fn.Properties.Description,
        flat(fn.Properties.Role).replace(/^<(.*)\.Arn>$/, '$1'),
      ]),
    );
    const policies = Object.values(withoutNetworkTemplate.findResources('AWS::IAM::Policy') as Record<string, Resource>);
    const secretActionsOf = (roleLogicalId: string): string[] =>
      policies
        .filter((policy) => asArray(policy.Properties.Roles as unknown[]).some((role) => flat(role) === `<${roleLogicalId}>`))
        .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
        .flatMap((statement) => asArray(statement.Action))
        .filter((action) => action.startsWith('secretsmanager:'));
    for (const spec of catalog) {
      // Act
      const actions = secretActionsOf(byDescription.get(spec.description) ?? `(no function for ${spec.id})`);
      // Assess
      expect({ id: spec.id, actions }).toEqual({ id: spec.id, actions: spec.kind === 'appliance' ? [] : ['secretsmanager:GetSecretValue'] });
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
  const schedules = (): Record<string, unknown>[] => resources('AWS::Scheduler::Schedule').map(([, schedule]) => schedule.Properties);

  test('one schedule per scheduled target, and none for unscheduled targets', () => {
    // Act
    const inputs = schedules().map((schedule) => (schedule.Target as { Input: string }).Input).sort();
    // Assess
    expect(inputs).toEqual([JSON.stringify({ target: 'appliance-ar11' }), JSON.stringify({ target: 'netbox-prod' })]);
  });

  test.each([
    ['netbox-cloud', 'netbox-prod', 'cron(0 2 * * ? *)'],
    ['appliance', 'appliance-ar11', 'cron(30 2 * * ? *)'],
  ] as const)('the %s schedule of %s starts that kind\'s backup machine with {"target": name}, in the configured time zone', (kind, targetName, expression) => {
    // Prepare
    const { logicalId: backupId } = stateMachineOf(lifecycle(kind, 'backup'));
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
    const backupIds = backupSpecs.map((spec) => `<${stateMachineOf(spec).logicalId}>`).sort();
    // Act
    const statements = statementsOfRole(roleLogicalId);
    // Assess
    expect([...new Set(allowedActions(statements))]).toEqual(['states:StartExecution']);
    expect(resourcesFor(statements, 'states:StartExecution').sort()).toEqual(backupIds);
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

  test('a backup state machine with a scheduled target alarms when no execution succeeded for a day, naming its targets', () => {
    for (const [backup, scheduled] of [
      [lifecycle('netbox-cloud', 'backup'), 'netbox-prod'],
      [lifecycle('appliance', 'backup'), 'appliance-ar11'],
    ] as const) {
      // Act
      const missing = alarmsOn(backup).filter((alarm) => alarm.MetricName === 'ExecutionsSucceeded');
      // Assess
      expect({ lifecycle: backup.id, missing: missing.length }).toEqual({ lifecycle: backup.id, missing: 1 });
      expect(missing[0]).toMatchObject({
        Statistic: 'Sum',
        Period: 86400,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: [topicRef()],
      });
      expect(String(missing[0]?.AlarmDescription)).toContain(scheduled);
    }
  });

  test('the appliance restore state machine alarms on failed, timed-out and aborted executions', () => {
    // Act
    const alarms = alarmsOn(lifecycle('appliance', 'restore'));
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
      const descriptions = alarmsOn(spec).map((alarm) => String(alarm.AlarmDescription));
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

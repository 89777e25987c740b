import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FUNCTIONS, LIFECYCLES, type FunctionSpec, type LifecycleSpec } from '../../functions/catalog';
import { parseConfig } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { placeholdersIn } from '../../lib/lifecycle-state-machine';
import { REPO_ROOT } from '../../lib/offsite-function';
import { OffsiteStack } from '../../lib/offsite-stack';

// Shared by the infrastructure tests (test/infra/*.test.ts): the test configuration, one
// synthesis of the stack from it, and helpers that flatten the template into readable strings.

// ---------------------------------------------------------------------------------
// The test configuration
// ---------------------------------------------------------------------------------

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const LAB_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:offsite/netbox-cloud/netbox-lab-AbCdEf`;
export const NP01_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:offsite/appliance/np01-oauth-GhIjKl`;
export const NETWORK = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  securityGroupIds: ['sg-0123456789abcdef0', 'sg-0123456789abcdef1'],
};
export const TEST_CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBtestonly\n-----END CERTIFICATE-----\n';

/** The IAM resource of every secret named under a prefix (lib/secret-grants.ts): what a kind's functions may read. */
export const secretsUnder = (namePrefix: string): string => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${namePrefix}*`;

export const NETBOX_SECRETS = [secretsUnder('offsite/netbox-cloud/')];
export const VPS_SECRETS = [secretsUnder('offsite/vps/')];
export const APPLIANCE_SECRETS = [secretsUnder('offsite/appliance/')];

function applianceTargets(): unknown[] {
  return [
    {
      name: 'appliance-ar11',
      kind: 'appliance',
      baseUrl: 'https://ar11.example.net',
      auth: { method: 'token', username: 'offsite-backup', password: { secret: 'offsite/appliance/ar11' } },
      tls: { ca: { secret: 'offsite/appliance/ar11-ca' } },
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
    // Every kind has a target here: the stack deploys a kind's functions and machines only
    // when one is configured (test/infra/netbox-proxbox-audit.test.ts checks its secrets).
    { ...NETBOX_PROXBOX_TARGET, credentials: { secret: 'offsite/netbox-proxbox/dc1' } },
  ];
}

const NETBOX_PROXBOX_TARGET = { name: 'netbox-dc1', kind: 'netbox-proxbox', baseUrl: 'https://netbox.dc1.example', credentials: { env: 'NETBOX_DC1_TOKEN' } };

export function testConfig(overrides: Partial<Record<'alarmEmail' | 'network' | 'targets', unknown>> = {}): OffsiteConfig {
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
        credentials: { secret: 'offsite/netbox-cloud/netbox-prod' },
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
      { name: 'web-01', kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 12345, credentials: { secret: 'offsite/vps/web-01' }, schedule: 'cron(0 3 * * ? *)' },
      ...applianceTargets(),
    ],
    ...overrides,
  };
  return parseConfig(raw, 'test config');
}

/**
 * The same catalog without `network`, appliance credentials from the environment and the
 * CA inline (no secret at all for that kind).
 */
export function withoutNetworkConfig(): OffsiteConfig {
  return testConfig({
    network: undefined,
    targets: [
      {
        name: 'netbox-prod',
        kind: 'netbox-cloud',
        baseUrl: 'https://api.netboxlabs.com',
        orgId: 'org-123',
        instanceId: 'nb-a12ff000777',
        credentials: { secret: 'offsite/netbox-cloud/netbox-prod' },
      },
      {
        name: 'appliance-ar11',
        kind: 'appliance',
        baseUrl: 'https://ar11.example.net',
        auth: { method: 'basic', username: 'offsite-backup', password: { env: 'AR11_PASSWORD' } },
        tls: { ca: { pem: TEST_CA_PEM } },
        schedule: 'cron(30 2 * * ? *)',
      },
      { name: 'web-01', kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 12345, credentials: { secret: 'offsite/vps/web-01' }, schedule: 'cron(0 3 * * ? *)' },
      NETBOX_PROXBOX_TARGET,
    ],
  });
}

// Widened to FunctionSpec so that filters on values the catalog may not use yet still type-check.
export const catalog: readonly FunctionSpec[] = FUNCTIONS;
export const writeSpecs = catalog.filter((spec) => spec.archive === 'write');
/** The streaming copiers (each kind's copy-to-archive handler): the functions whose memory bound the bench measures. */
export const copierSpecs = catalog.filter((spec) => spec.entry.endsWith('/copy-to-archive.ts'));
/**
 * The kinds' read-only functions. The archive's own jobs (no kind) are granted more on top
 * (prune deletes, verify records its results); test/infra/prune-archive-function.test.ts
 * and test/infra/archive-jobs.test.ts check theirs.
 */
export const readSpecs = catalog.filter((spec) => spec.archive === 'read' && spec.kind !== undefined);
export const privateNetworkSpecs = catalog.filter((spec) => spec.network === 'private-network');
export const internetSpecs = catalog.filter((spec) => spec.network === 'internet');
export const netboxSpecs = catalog.filter((spec) => spec.kind === 'netbox-cloud');
export const applianceSpecs = catalog.filter((spec) => spec.kind === 'appliance');
export const backupSpecs = LIFECYCLES.filter((spec) => spec.purpose === 'backup');
export const restoreSpecs = LIFECYCLES.filter((spec) => spec.purpose === 'restore');

// ---------------------------------------------------------------------------------
// Template helpers: flatten CloudFormation intrinsics into readable strings.
// ---------------------------------------------------------------------------------

export type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

/** Renders Fn::Join / Ref / Fn::GetAtt as a string: `<LogicalId>`, `<LogicalId.Arn>`, partition "aws". */
export function flat(value: unknown): string {
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

export const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

export function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0] as T;
}

export function allowedActions(statements: Statement[]): string[] {
  return statements.filter((statement) => statement.Effect === 'Allow').flatMap((statement) => asArray(statement.Action));
}

export function resourcesFor(statements: Statement[], action: string): string[] {
  return statements
    .filter((statement) => statement.Effect === 'Allow' && asArray(statement.Action).includes(action))
    .flatMap((statement) => asArray(statement.Resource).map(flat));
}

export function aslPlaceholders(spec: LifecycleSpec): string[] {
  return placeholdersIn(readFileSync(join(REPO_ROOT, spec.definitionFile), 'utf8'));
}

export function lifecycle(kind: LifecycleSpec['kind'], purpose: LifecycleSpec['purpose']): LifecycleSpec {
  return only(
    LIFECYCLES.filter((spec) => spec.kind === kind && spec.purpose === purpose),
    `${purpose} lifecycle of ${kind}`,
  );
}

// ---------------------------------------------------------------------------------
// One synthesis
// ---------------------------------------------------------------------------------

/**
 * A synthesized OffsiteStack and its template, with lookups into it. The lookups are
 * properties (not methods) so they can be passed on, as in `.map(synth.catalogIdOfFunctionArn)`.
 */
export class SynthesizedStack {
  readonly template: Template;

  constructor(
    readonly app: App,
    readonly stack: OffsiteStack,
  ) {
    this.template = Template.fromStack(stack);
  }

  readonly resources = (type: string): [string, Resource][] => Object.entries(this.template.findResources(type) as Record<string, Resource>);

  /** All statements of the inline policies attached to a role. */
  readonly statementsOfRole = (roleLogicalId: string): Statement[] =>
    this.resources('AWS::IAM::Policy')
      .filter(([, policy]) => asArray(policy.Properties.Roles as unknown[]).some((role) => flat(role) === `<${roleLogicalId}>`))
      .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);

  readonly functionOf = (spec: FunctionSpec): { logicalId: string; properties: Record<string, unknown>; roleLogicalId: string } => {
    const [logicalId, fn] = only(
      this.resources('AWS::Lambda::Function').filter(([, candidate]) => candidate.Properties.Description === spec.description),
      `function for ${spec.id}`,
    );
    const roleLogicalId = flat(fn.Properties.Role).replace(/^<(.*)\.Arn>$/, '$1');
    return { logicalId, properties: fn.Properties, roleLogicalId };
  };

  readonly catalogIdOfFunctionArn = (arn: string): string => {
    const spec = FUNCTIONS.find((candidate) => `<${this.functionOf(candidate).logicalId}.Arn>` === arn);
    return spec?.id ?? `(not a catalog function: ${arn})`;
  };

  readonly stateMachineOf = (spec: LifecycleSpec): { logicalId: string; properties: Record<string, unknown> } => {
    const [logicalId, machine] = only(
      this.resources('AWS::StepFunctions::StateMachine').filter(([, candidate]) => candidate.Properties.StateMachineName === `offsite-${spec.kind}-${spec.purpose}`),
      `state machine for ${spec.id}`,
    );
    return { logicalId, properties: machine.Properties };
  };

  readonly alarmsOn = (spec: LifecycleSpec): Record<string, unknown>[] => {
    const { logicalId } = this.stateMachineOf(spec);
    return this.resources('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => (alarm.Dimensions as { Name: string; Value: unknown }[]).some((d) => d.Name === 'StateMachineArn' && flat(d.Value) === `<${logicalId}>`));
  };

  readonly archiveBucketId = (): string =>
    only(this.resources('AWS::S3::Bucket').filter(([, b]) => b.Properties.BucketName === 'test-offsite-archive'), 'archive bucket')[0];

  readonly s3StatementsOf = (spec: FunctionSpec): Statement[] =>
    this.statementsOfRole(this.functionOf(spec).roleLogicalId).filter((statement) => asArray(statement.Action).some((action) => action.startsWith('s3:')));

  readonly secretsReadableBy = (spec: FunctionSpec): string[] =>
    resourcesFor(this.statementsOfRole(this.functionOf(spec).roleLogicalId), 'secretsmanager:GetSecretValue').sort();
}

/**
 * The stack synthesized from `config`. Bundling the twenty functions takes most of a
 * synthesis (tens of seconds), and without it the template differs only in each function's
 * code asset key: so only the stack-wide test file bundles (which also shows every function
 * bundles); each construct's file synthesizes once without bundling.
 */
export function synthesize(config: OffsiteConfig, options: { readonly bundle: boolean; readonly id?: string }): SynthesizedStack {
  const app = options.bundle ? new App() : new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new OffsiteStack(app, options.id ?? 'Offsite', { config, env: { account: ACCOUNT, region: REGION } });
  return new SynthesizedStack(app, stack);
}

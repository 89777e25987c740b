import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FUNCTIONS, LIFECYCLES } from '../../functions/catalog';
import { parseConfig } from '../../functions/config/load';
import { OffsiteStack } from '../../lib/offsite-stack';
import {
  ACCOUNT,
  APPLIANCE_SECRETS,
  NETBOX_SECRETS,
  VPS_SECRETS,
  NP01_SECRET_ARN,
  REGION,
  allowedActions,
  privateNetworkSpecs,
  applianceSpecs,
  asArray,
  catalog,
  flat,
  internetSpecs,
  netboxSpecs,
  only,
  readSpecs,
  resourcesFor,
  secretsUnder,
  synthesize,
  testConfig,
  withoutNetworkConfig,
  writeSpecs,
  type Resource,
  type Statement,
  type SynthesizedStack,
} from '../support/infra';

// One synthesis for the whole file, with the functions bundled as for a deployment (bundling
// twenty functions takes most of the time); the configuration without `network` is
// synthesized once more, without bundling.
let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesize(testConfig(), { bundle: true });
});

test('the test catalog has functions of every archive access, network and kind the tests below check', () => {
  // Assess (otherwise loops over an empty list would pass without checking anything)
  for (const group of [writeSpecs, readSpecs, privateNetworkSpecs, internetSpecs, netboxSpecs, applianceSpecs]) {
    expect(group.length).toBeGreaterThan(0);
  }
});

describe('the config parameter and function permissions', () => {
  test('the configuration is deployed as an S3 object holding the validated configuration as JSON; no SSM parameter', () => {
    // Act
    const text = readFileSync(join(synth.app.outdir, synth.stack.configObject.assetPath), 'utf8');
    // Assess
    expect(parseConfig(JSON.parse(text), 'config object')).toEqual(testConfig());
    expect(synth.resources('AWS::SSM::Parameter')).toEqual([]);
  });

  test('each function may read that one configuration object (s3:GetObject on its key, through one shared policy), and no SSM parameter', () => {
    // Prepare
    const [policyId, policy] = only(synth.resources('AWS::IAM::ManagedPolicy'), 'configuration read policy');
    const key = synth.stack.resolve(synth.stack.configObject.s3ObjectKey) as string;
    // Act
    const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const attached = asArray(policy.Properties.Roles as unknown[]).map(flat).sort();
    // Assess
    expect(statements.map((statement) => ({ ...statement, Resource: flat(statement.Resource) }))).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::cdk-hnb659fds-assets-${ACCOUNT}-${REGION}/${key}` },
    ]);
    expect(key).toMatch(/^[0-9a-f]{64}\.json$/);
    expect(attached).toEqual(FUNCTIONS.map((spec) => `<${synth.functionOf(spec).roleLogicalId}>`).sort());
    expect(policyId).toMatch(/^ConfigRead/);
    for (const spec of FUNCTIONS) {
      expect(allowedActions(synth.statementsOfRole(synth.functionOf(spec).roleLogicalId)).filter((action) => action.startsWith('ssm:'))).toEqual([]);
    }
  });

  test("'write' functions (the copiers) may write, abort and delete archive objects under the prefix only", () => {
    // Prepare
    const bucketId = synth.archiveBucketId();
    for (const spec of writeSpecs) {
      // Act
      const s3Statements = synth.s3StatementsOf(spec);
      // Assess
      expect({ id: spec.id, statements: s3Statements.length }).toEqual({ id: spec.id, statements: 1 });
      expect([...asArray(s3Statements[0]?.Action ?? [])].sort()).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:ListMultipartUploadParts', 's3:PutObject']);
      expect(asArray(s3Statements[0]?.Resource).map(flat)).toEqual([`<${bucketId}.Arn>/backups/*`]);
    }
  });

  test("'read' functions may get archive objects under the prefix and list keys under the prefix only", () => {
    // Prepare
    const bucketId = synth.archiveBucketId();
    for (const spec of readSpecs) {
      // Act
      const s3Statements = synth.s3StatementsOf(spec);
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
      const s3Actions = allowedActions(synth.s3StatementsOf(spec));
      // Assess
      for (const forbidden of ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:AbortMultipartUpload', 's3:*']) {
        expect({ id: spec.id, grants: forbidden, allowed: s3Actions.includes(forbidden) }).toEqual({ id: spec.id, grants: forbidden, allowed: false });
      }
    }
  });

  test("'none' functions have no S3 action", () => {
    for (const spec of catalog.filter((candidate) => candidate.archive === 'none')) {
      // Act
      const s3Actions = allowedActions(synth.statementsOfRole(synth.functionOf(spec).roleLogicalId)).filter((action) => action.startsWith('s3:'));
      // Assess
      expect({ id: spec.id, s3Actions }).toEqual({ id: spec.id, s3Actions: [] });
    }
  });

  test("functions may read exactly the secrets named under their own kind's prefix (offsite/<kind>/*), one pattern however many targets", () => {
    // The test configuration has no netbox-proxbox target, so those functions get no grant (test/infra/netbox-proxbox-audit.test.ts checks theirs).
    for (const spec of catalog.filter((candidate) => candidate.kind !== undefined && candidate.kind !== 'netbox-proxbox')) {
      // Prepare
      const expected = spec.kind === 'appliance' ? APPLIANCE_SECRETS : spec.kind === 'vps' ? VPS_SECRETS : NETBOX_SECRETS;
      // Act
      const statements = synth.statementsOfRole(synth.functionOf(spec).roleLogicalId);
      // Assess
      expect({ id: spec.id, actions: allowedActions(statements).filter((action) => action.startsWith('secretsmanager:')) }).toEqual({
        id: spec.id,
        actions: ['secretsmanager:GetSecretValue'],
      });
      expect({ id: spec.id, secrets: synth.secretsReadableBy(spec) }).toEqual({ id: spec.id, secrets: [...expected].sort() });
    }
  });

  test("the archive's own jobs (no kind) may read no secret at all", () => {
    const jobs = catalog.filter((candidate) => candidate.kind === undefined);
    expect(jobs.length).toBeGreaterThan(0);
    for (const spec of jobs) {
      // Act
      const actions = allowedActions(synth.statementsOfRole(synth.functionOf(spec).roleLogicalId)).filter((action) => action.startsWith('secretsmanager:'));
      // Assess
      expect({ id: spec.id, actions }).toEqual({ id: spec.id, actions: [] });
    }
  });

  test('appliance functions can read the appliance password and CA secrets; netbox functions cannot', () => {
    // Prepare
    for (const spec of applianceSpecs) {
      // Act / Assess: the password, the CA and the OAuth secret given as an ARN all lie under it.
      expect({ id: spec.id, secrets: synth.secretsReadableBy(spec) }).toEqual({ id: spec.id, secrets: [secretsUnder('offsite/appliance/')] });
    }
    expect(NP01_SECRET_ARN).toContain(':secret:offsite/appliance/');
    for (const spec of netboxSpecs) {
      // Act
      const readable = synth.secretsReadableBy(spec);
      // Assess
      expect({ id: spec.id, readable: readable.filter((arn) => APPLIANCE_SECRETS.includes(arn) || arn.includes('appliance')) }).toEqual({ id: spec.id, readable: [] });
    }
  });

  test('netbox functions can read the NetBox Cloud secrets; appliance functions cannot', () => {
    for (const spec of netboxSpecs) {
      // Act / Assess
      expect({ id: spec.id, secrets: synth.secretsReadableBy(spec) }).toEqual({ id: spec.id, secrets: expect.arrayContaining(NETBOX_SECRETS) });
    }
    for (const spec of applianceSpecs) {
      // Act
      const readable = synth.secretsReadableBy(spec);
      // Assess
      expect({ id: spec.id, readable: readable.filter((arn) => NETBOX_SECRETS.includes(arn) || arn.includes('netbox')) }).toEqual({ id: spec.id, readable: [] });
    }
  });
});

describe('a configuration without network, appliance credentials from the environment and no appliance secret', () => {
  let withoutNetwork: SynthesizedStack;

  beforeAll(() => {
    withoutNetwork = synthesize(withoutNetworkConfig(), { bundle: false, id: 'NoNetwork' });
  });

  test('an appliance password from the environment is a deployment warning naming the field', () => {
    // Assess
    Annotations.fromStack(withoutNetwork.stack).hasWarning('*', Match.stringLikeRegexp('"appliance-ar11" uses auth\\.password\\.env \\(AR11_PASSWORD\\)'));
  });

  test('no secret grant at all for a kind whose targets reference no secret', () => {
    // Prepare
    const byDescription = new Map(
      Object.values(withoutNetwork.template.findResources('AWS::Lambda::Function') as Record<string, Resource>).map((fn) => [
        fn.Properties.Description,
        flat(fn.Properties.Role).replace(/^<(.*)\.Arn>$/, '$1'),
      ]),
    );
    const policies = Object.values(withoutNetwork.template.findResources('AWS::IAM::Policy') as Record<string, Resource>);
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
      expect({ id: spec.id, actions }).toEqual({ id: spec.id, actions: spec.kind === undefined || spec.kind === 'appliance' || spec.kind === 'netbox-proxbox' ? [] : ['secretsmanager:GetSecretValue'] });
    }
  });
});

describe('stack', () => {
  test('a kind without a configured target deploys none of its functions or state machines', () => {
    // Prepare: NetBox Cloud only.
    const netboxOnly = testConfig({ targets: testConfig().targets.filter((target) => target.kind === 'netbox-cloud') });
    // Act
    const only = synthesize(netboxOnly, { bundle: false, id: 'NetboxOnly' });
    // Assess
    const descriptions = only.resources('AWS::Lambda::Function').map(([, fn]) => String(fn.Properties.Description ?? ''));
    for (const spec of FUNCTIONS) {
      const expected = spec.kind === undefined || spec.kind === 'netbox-cloud';
      expect({ id: spec.id, deployed: descriptions.some((description) => description.includes(spec.description)) }).toEqual({ id: spec.id, deployed: expected });
    }
    const machines = only.resources('AWS::StepFunctions::StateMachine').map(([, machine]) => String(machine.Properties.StateMachineName ?? ''));
    for (const spec of LIFECYCLES) expect({ id: spec.id, deployed: machines.some((name) => name.includes(`-${spec.kind}-${spec.purpose}`)) }).toEqual({ id: spec.id, deployed: spec.kind === 'netbox-cloud' });
  });

  test("outputs the bucket name, the alarm topic, every state machine ARN and each scheduled lifecycle's fan-out ARN", () => {
    // Prepare: a kind's schedule runs its backup, or its audit when it only audits; a fan-out only for kinds with a scheduled target.
    const scheduledKinds = new Set(testConfig().targets.filter((target) => target.schedule !== undefined).map((target) => target.kind));
    const scheduled = LIFECYCLES.filter(
      (spec) => scheduledKinds.has(spec.kind) && (spec.purpose === 'backup' || (spec.purpose === 'audit' && !LIFECYCLES.some((other) => other.kind === spec.kind && other.purpose === 'backup'))),
    );
    expect(scheduled.length).toBeGreaterThan(0);
    expect(scheduled.length).toBeLessThan(new Set(LIFECYCLES.map((spec) => spec.kind)).size);
    // Act
    const outputs = Object.keys(synth.template.findOutputs('*'));
    // Assess
    expect(outputs.sort()).toEqual(
      ['AlarmTopicArn', 'ArchiveBucketName', ...LIFECYCLES.map((spec) => `${spec.id}StateMachineArn`), ...scheduled.map((spec) => `${spec.id}FanOutStateMachineArn`)].sort(),
    );
  });

  test('cdk-nag AwsSolutions reports no unacknowledged errors or warnings', () => {
    // Act
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(synth.app);
    const findings = report.violations.map(
      (violation) => `${violation.severity} ${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}: ${violation.description}`,
    );
    // Assess
    expect(findings).toEqual([]);
    // The construct-library annotations (errors/warnings of our own and of CDK) are clean too.
    expect(Annotations.fromStack(synth.stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(synth.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('a stack region different from archive.region is a synthesis error', () => {
    // Prepare (no bundling needed to see the annotation)
    const other = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    // Act
    const wrongRegion = new OffsiteStack(other, 'WrongRegion', { config: testConfig(), env: { account: ACCOUNT, region: 'us-east-1' } });
    // Assess
    Annotations.fromStack(wrongRegion).hasError('*', Match.stringLikeRegexp('archive\\.region is eu-west-1'));
  });

  test("a secret named outside its kind's prefix is a synthesis error naming the target, the field and the expected prefix", () => {
    // Prepare
    const other = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const config = testConfig({
      targets: [
        { name: 'web-01', kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 12345, credentials: { secret: 'offsite/vps-web-01' } },
        { name: 'ar-02', kind: 'appliance', baseUrl: 'https://ar02.example.net', auth: { method: 'basic', username: 'u', password: { secret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:offsite/netbox-cloud/ar02-AbCdEf` } } },
        { name: 'ar-03', kind: 'appliance', baseUrl: 'https://ar03.example.net', auth: { method: 'basic', username: 'u', password: { secret: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:offsite/appliance/ar03-AbCdEf` } } },
        { name: 'ar-04', kind: 'appliance', baseUrl: 'https://ar04.example.net', auth: { method: 'basic', username: 'u', password: { secret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:offsite/appliance/ar04` } } },
      ],
    });
    // Act
    const stack = new OffsiteStack(other, 'Misplaced', { config, env: { account: ACCOUNT, region: REGION } });
    // Assess
    const errors = Annotations.fromStack(stack).findError('*', Match.anyValue()).map((error) => String(error.entry.data));
    expect(errors).toEqual([
      'Target "web-01": credentials.secret is "offsite/vps-web-01"; expected a secret named under "offsite/vps/" (e.g. "offsite/vps/web-01"): the VPS provider functions may read only secrets named offsite/vps/* (secretPrefix "offsite/"). Rename the secret or set secretPrefix.',
      expect.stringMatching(/^Target "ar-02": auth\.password\.secret is "arn:.*:secret:offsite\/netbox-cloud\/ar02-AbCdEf"; expected a secret named under "offsite\/appliance\/"/),
      expect.stringMatching(/^Target "ar-03": auth\.password\.secret is "arn:aws:secretsmanager:us-east-1:.*"; expected a secret in eu-west-1, the stack's region/),
    ]);
  });

  test('secretPrefix moves every grant: a kind reads <secretPrefix><kind>/*', () => {
    // Prepare
    const config = { ...testConfig({ targets: [{ name: 'web-01', kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 12345, credentials: { secret: 'teams/net/vps/web-01' } }] }), secretPrefix: 'teams/net/' };
    // Act
    const prefixed = synthesize(config, { bundle: false, id: 'Prefixed' });
    // Assess
    expect(Annotations.fromStack(prefixed.stack).findError('*', Match.anyValue())).toEqual([]);
    expect(prefixed.secretsReadableBy(only(catalog.filter((spec) => spec.id === 'VpsCreateBackup'), 'VpsCreateBackup'))).toEqual([secretsUnder('teams/net/vps/')]);
  });
});

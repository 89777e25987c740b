import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ARCHIVE_KMS_KEY_ENV as RUNTIME_KMS_KEY_ENV } from '../../functions/archive/places';
import { FUNCTIONS, type FunctionSpec } from '../../functions/catalog';
import type { OffsiteConfig } from '../../functions/config/schema';
import { parseConfig } from '../../functions/config/load';
import { ARCHIVE_KMS_KEY_ENV } from '../../lib/archive-grants';
import { asArray, flat, only, synthesize, testConfig, type Resource, type Statement, type SynthesizedStack } from '../support/infra';

const EXISTING_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SECONDARY_KEY = 'arn:aws:kms:eu-central-1:210987654321:key/abcd1234-ab12-cd34-ef56-0987654321ab';
const SECONDARY = { bucket: 'test-offsite-second', prefix: 'copies/', region: 'eu-central-1', kmsKeyArn: SECONDARY_KEY };

function configWith(archive: Record<string, unknown>, options: { readonly drill?: boolean } = {}): OffsiteConfig {
  const base = testConfig();
  // A drilled server, so the drill report writer (a single-document writer) is in the stack.
  const targets = options.drill
    ? base.targets.map((target) => (target.name === 'web-01' ? { ...target, credentials: { secret: 'offsite/vps/drill/web-01' }, drill: { to: 67890, schedule: 'rate(7 days)' } } : target))
    : base.targets;
  return parseConfig({ ...base, targets, archive: { ...base.archive, ...archive } }, 'test config');
}

// One synthesis per configuration, without bundling (see synthesize in test/support/infra.ts).
let created: SynthesizedStack;
let existing: SynthesizedStack;
let plain: SynthesizedStack;
let keyedSecondary: SynthesizedStack;

beforeAll(() => {
  created = synthesize(configWith({ kms: 'create', secondary: SECONDARY }, { drill: true }), { bundle: false, id: 'Created' });
  existing = synthesize(configWith({ kms: EXISTING_KEY }), { bundle: false, id: 'Existing' });
  plain = synthesize(testConfig(), { bundle: false, id: 'Plain' });
  keyedSecondary = synthesize(configWith({ secondary: { ...SECONDARY, credentials: { secret: 'offsite/archive/secondary' } } }), { bundle: false, id: 'KeyedSecondary' });
});

function archiveBucket(synth: SynthesizedStack): Resource {
  return only(synth.resources('AWS::S3::Bucket').filter(([, bucket]) => bucket.Properties.BucketName === 'test-offsite-archive'), 'archive bucket')[1];
}

/** The archive's own key (the alarm topic has a key of its own). */
const archiveKeys = (synth: SynthesizedStack): [string, Resource][] => synth.resources('AWS::KMS::Key').filter(([id]) => id.startsWith('ArchiveKey'));

function createdKeyArn(synth: SynthesizedStack): string {
  return `<${only(archiveKeys(synth), 'archive KMS key')[0]}.Arn>`;
}

const statementsOf = (synth: SynthesizedStack, spec: FunctionSpec): Statement[] => synth.statementsOfRole(synth.functionOf(spec).roleLogicalId);

/** The KMS actions a function may use on one key (resource rendered by `flat`), sorted. */
function kmsActions(synth: SynthesizedStack, spec: FunctionSpec, keyArn: string): string[] {
  return statementsOf(synth, spec)
    .filter((statement) => statement.Effect === 'Allow' && asArray(statement.Resource).map(flat).includes(keyArn))
    .flatMap((statement) => asArray(statement.Action))
    .sort();
}

const allKmsActions = (synth: SynthesizedStack, spec: FunctionSpec): string[] =>
  statementsOf(synth, spec)
    .flatMap((statement) => asArray(statement.Action))
    .filter((action) => action.startsWith('kms:'));

/** Whether the function may put objects into the primary bucket (the verify job's records, the drill reports, the writers' copies). */
const putsIntoPrimary = (synth: SynthesizedStack, spec: FunctionSpec): boolean =>
  statementsOf(synth, spec).some((statement) => asArray(statement.Action).includes('s3:PutObject') && asArray(statement.Resource).map(flat).some((resource) => resource.startsWith(`<${synth.archiveBucketId()}.Arn>`)));

/**
 * What each function's use of the primary makes S3 ask KMS for: writers (multipart uploads)
 * a data key and its decryption, readers decryption; a function that puts single documents
 * (the verify job's records, the drill reports) a data key.
 */
function expectedPrimaryKmsActions(synth: SynthesizedStack, spec: FunctionSpec): string[] {
  const documents = putsIntoPrimary(synth, spec) ? ['kms:GenerateDataKey'] : [];
  const access = spec.archive === 'write' || spec.archive === 'read-write' ? ['kms:Decrypt', 'kms:GenerateDataKey'] : spec.archive === 'read' ? ['kms:Decrypt'] : [];
  return [...new Set([...access, ...documents])].sort();
}

describe('the archive under a KMS key the stack creates (archive.kms "create")', () => {
  test('the key rotates yearly, is kept when the stack is deleted, and has an alias and a description', () => {
    // Act
    const [, key] = only(archiveKeys(created), 'archive KMS key');
    const [, alias] = only(created.resources('AWS::KMS::Alias'), 'KMS alias');

    // Assess
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.Properties.Description).toMatch(/test-offsite-archive/);
    expect(alias.Properties.AliasName).toBe('alias/created-archive');
  });

  test('the bucket encrypts with SSE-KMS under that key by default, with bucket keys on', () => {
    // Act
    const encryption = archiveBucket(created).Properties.BucketEncryption as { ServerSideEncryptionConfiguration: Record<string, unknown>[] };

    // Assess
    expect(encryption.ServerSideEncryptionConfiguration).toHaveLength(1);
    const rule = encryption.ServerSideEncryptionConfiguration[0] as { BucketKeyEnabled: boolean; ServerSideEncryptionByDefault: { SSEAlgorithm: string; KMSMasterKeyID: unknown } };
    expect(rule.BucketKeyEnabled).toBe(true);
    expect(rule.ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    expect(flat(rule.ServerSideEncryptionByDefault.KMSMasterKeyID)).toBe(createdKeyArn(created));
  });

  test("each function may use the key for exactly what its archive access makes S3 ask: writers GenerateDataKey and Decrypt, readers Decrypt, the others nothing", () => {
    // Prepare
    const keyArn = createdKeyArn(created);
    // Act
    const granted = Object.fromEntries(FUNCTIONS.map((spec) => [spec.id, kmsActions(created, spec, keyArn)]));
    // Assess
    expect(granted).toEqual(Object.fromEntries(FUNCTIONS.map((spec) => [spec.id, expectedPrimaryKmsActions(created, spec)])));
    expect(granted.DrillReport).toEqual(['kms:GenerateDataKey']);
    expect(Object.values(granted).filter((actions) => actions.includes('kms:GenerateDataKey')).length).toBeGreaterThan(0);
    expect(Object.values(granted).filter((actions) => actions.length === 0).length).toBeGreaterThan(0);
  });

  test('the key may be used through S3 in the archive region only', () => {
    // Prepare
    const keyArn = createdKeyArn(created);
    // Act
    const conditions = FUNCTIONS.flatMap((spec) => statementsOf(created, spec))
      .filter((statement) => asArray(statement.Resource).map(flat).includes(keyArn))
      .map((statement) => statement.Condition);
    // Assess
    expect(conditions.length).toBeGreaterThan(0);
    for (const condition of conditions) expect(condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } });
  });

  test("the functions using the key find its ARN in their environment (the runtime's variable name)", () => {
    // Prepare
    const keyArn = createdKeyArn(created);
    // Act
    const environments = FUNCTIONS.map((spec) => ({ spec, variables: (created.functionOf(spec).properties.Environment as { Variables: Record<string, unknown> }).Variables }));
    // Assess
    expect(ARCHIVE_KMS_KEY_ENV).toBe(RUNTIME_KMS_KEY_ENV);
    for (const { spec, variables } of environments) {
      const value = variables[ARCHIVE_KMS_KEY_ENV];
      expect({ id: spec.id, key: value === undefined ? undefined : flat(value) }).toEqual({ id: spec.id, key: expectedPrimaryKmsActions(created, spec).length > 0 ? keyArn : undefined });
    }
  });

  test('no state machine and no scheduler role may use the key', () => {
    // Prepare
    const functionRoles = new Set(FUNCTIONS.map((spec) => created.functionOf(spec).roleLogicalId));
    // Act
    const otherPolicies = created.resources('AWS::IAM::Policy').filter(([, policy]) => !asArray(policy.Properties.Roles as unknown[]).some((role) => functionRoles.has(flat(role).replace(/[<>]/g, ''))));
    const kmsInOthers = otherPolicies.flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).flatMap((statement) => asArray(statement.Action)).filter((action) => action.startsWith('kms:'));
    // Assess
    expect(otherPolicies.length).toBeGreaterThan(0);
    expect(kmsInOthers).toEqual([]);
  });

  test('cdk-nag AwsSolutions reports nothing unacknowledged with a created key and a secondary', () => {
    // Act
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(created.app);
    // Assess
    expect(report.violations.map((violation) => `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('the archive under an existing key (archive.kms an ARN)', () => {
  test('the bucket encrypts with that key, bucket keys on; the stack creates no key', () => {
    // Act
    const rule = (archiveBucket(existing).Properties.BucketEncryption as { ServerSideEncryptionConfiguration: Record<string, unknown>[] }).ServerSideEncryptionConfiguration[0];
    // Assess
    expect(rule).toEqual({ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: EXISTING_KEY } });
    expect(archiveKeys(existing)).toEqual([]);
  });

  test('each function may use that key for exactly what its archive access needs', () => {
    // Act
    const granted = Object.fromEntries(FUNCTIONS.map((spec) => [spec.id, kmsActions(existing, spec, EXISTING_KEY)]));
    // Assess
    expect(granted).toEqual(Object.fromEntries(FUNCTIONS.map((spec) => [spec.id, expectedPrimaryKmsActions(existing, spec)])));
  });

  test('cdk-nag AwsSolutions reports nothing unacknowledged with an existing key', () => {
    // Act
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(existing.app);
    // Assess
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});

describe('without archive.kms', () => {
  test('the bucket keeps SSE-S3, no key exists and no function may use KMS or finds a key in its environment', () => {
    // Act
    const rule = (archiveBucket(plain).Properties.BucketEncryption as { ServerSideEncryptionConfiguration: Record<string, unknown>[] }).ServerSideEncryptionConfiguration[0];
    // Assess
    expect(rule).toEqual({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } });
    expect(archiveKeys(plain)).toEqual([]);
    for (const spec of FUNCTIONS) {
      expect({ id: spec.id, kms: allKmsActions(plain, spec) }).toEqual({ id: spec.id, kms: [] });
      expect((plain.functionOf(spec).properties.Environment as { Variables: Record<string, unknown> }).Variables[ARCHIVE_KMS_KEY_ENV]).toBeUndefined();
    }
  });
});

describe('the secondary archive (archive.secondary)', () => {
  const secondaryObjects = 'arn:aws:s3:::test-offsite-second/copies/*';
  const secondaryBucket = 'arn:aws:s3:::test-offsite-second';
  const onSecondary = (synth: SynthesizedStack, spec: FunctionSpec): Statement[] =>
    statementsOf(synth, spec).filter((statement) => asArray(statement.Resource).map(flat).some((resource) => resource.startsWith(secondaryBucket)));
  const secondarySpecs = FUNCTIONS.filter((spec) => (spec.secondary ?? 'none') !== 'none');
  const spec = (id: string): FunctionSpec => only(FUNCTIONS.filter((candidate) => candidate.id === id), id);

  test('the catalog has writers and readers in the secondary', () => {
    // Assess (otherwise the loops below would check nothing)
    expect(secondarySpecs.map((candidate) => `${candidate.id}:${candidate.secondary}`).sort()).toEqual([
      'ApplianceResolveRestore:read',
      'ApplianceUploadBackup:read',
      'CatchUpSecondary:read-write',
      'CheckFreshness:read',
      'CopyToSecondary:read-write',
      'DrillPlan:read',
      'PruneArchive:read',
      'VerifyArchive:read',
    ]);
  });

  test('a writer may write, abort and delete objects under the secondary prefix only; a reader may get them and list under the prefix only', () => {
    // Act
    const writer = onSecondary(created, spec('CopyToSecondary'));
    const reader = onSecondary(created, spec('VerifyArchive'));

    // Assess
    const writes = writer.filter((statement) => asArray(statement.Action).some((action) => action.startsWith('s3:') && action !== 's3:GetObject' && action !== 's3:ListBucket'));
    expect(writes.map((statement) => ({ actions: [...asArray(statement.Action)].sort(), resources: asArray(statement.Resource).map(flat) }))).toEqual([
      { actions: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:ListMultipartUploadParts', 's3:PutObject'], resources: [secondaryObjects] },
    ]);
    const readStatements = reader.map((statement) => ({ actions: asArray(statement.Action), resources: asArray(statement.Resource).map(flat), condition: statement.Condition }));
    expect(readStatements).toContainEqual({ actions: ['s3:GetObject'], resources: [secondaryObjects], condition: undefined });
    expect(readStatements).toContainEqual({ actions: ['s3:ListBucket'], resources: [secondaryBucket], condition: { StringLike: { 's3:prefix': ['copies/*'] } } });
    // The verify job's records in the secondary, as on the primary.
    expect(readStatements).toContainEqual({ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::test-offsite-second/copies/_offsite/verification/*'], condition: undefined });
  });

  test("a function's archiveActions apply to the secondary's objects too", () => {
    // Act
    const prune = onSecondary(created, spec('PruneArchive'));
    // Assess
    expect(prune.map((statement) => asArray(statement.Action))).toContainEqual(['s3:DeleteObject', 's3:GetObjectTagging', 's3:GetObjectRetention', 's3:GetObjectLegalHold']);
  });

  test("the secondary's key: its writers GenerateDataKey and Decrypt, its readers Decrypt (the verify records a data key), through S3 in its region; nobody else", () => {
    // Act
    const granted = Object.fromEntries(FUNCTIONS.map((candidate): [string, string[]] => [candidate.id, kmsActions(created, candidate, SECONDARY_KEY)]).filter(([, actions]) => actions.length > 0));
    const conditions = FUNCTIONS.flatMap((candidate) => statementsOf(created, candidate)).filter((statement) => asArray(statement.Resource).includes(SECONDARY_KEY)).map((statement) => statement.Condition);
    // Assess
    expect(granted).toEqual({
      ApplianceResolveRestore: ['kms:Decrypt'],
      ApplianceUploadBackup: ['kms:Decrypt'],
      CatchUpSecondary: ['kms:Decrypt', 'kms:GenerateDataKey'],
      CheckFreshness: ['kms:Decrypt'],
      CopyToSecondary: ['kms:Decrypt', 'kms:GenerateDataKey'],
      DrillPlan: ['kms:Decrypt'],
      PruneArchive: ['kms:Decrypt'],
      VerifyArchive: ['kms:Decrypt', 'kms:GenerateDataKey'],
    });
    for (const condition of conditions) expect(condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.eu-central-1.amazonaws.com' } });
  });

  test('without a secondary, no function has a grant on another bucket', () => {
    // Act
    const onOther = FUNCTIONS.flatMap((candidate) => onSecondary(plain, candidate));
    // Assess
    expect(onOther).toEqual([]);
  });

  test('a secondary reached with its own access key gets no S3 or KMS grant in this account; its readers may read the secrets under <secretPrefix>archive/ only', () => {
    // Act
    const onOther = FUNCTIONS.flatMap((candidate) => onSecondary(keyedSecondary, candidate));
    const secretReaders = FUNCTIONS.filter((candidate) => keyedSecondary.secretsReadableBy(candidate).includes('arn:aws:secretsmanager:eu-west-1:123456789012:secret:offsite/archive/*')).map((candidate) => candidate.id);
    const secondaryKeyUsers = FUNCTIONS.filter((candidate) => kmsActions(keyedSecondary, candidate, SECONDARY_KEY).length > 0);
    // Assess
    expect(onOther).toEqual([]);
    expect(secondaryKeyUsers).toEqual([]);
    expect(secretReaders.sort()).toEqual(secondarySpecs.map((candidate) => candidate.id).sort());
  });

  test('cdk-nag AwsSolutions reports nothing unacknowledged with a secondary reached by access key', () => {
    // Act
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(keyedSecondary.app);
    // Assess
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  test("synth refuses a secondary access key secret outside <secretPrefix>archive/, naming the field, the value and the expected prefix", () => {
    // Act
    const misplaced = synthesize(configWith({ secondary: { ...SECONDARY, credentials: { secret: 'offsite/netbox-cloud/second-store' } } }), { bundle: false, id: 'Misplaced' });

    // Assess
    Annotations.fromStack(misplaced.stack).hasError(
      '*',
      Match.stringLikeRegexp('archive\\.secondary\\.credentials\\.secret is "offsite/netbox-cloud/second-store"; expected a secret named under "offsite/archive/"'),
    );
  });
});

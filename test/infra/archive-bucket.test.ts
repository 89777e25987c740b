import { Match } from 'aws-cdk-lib/assertions';
import { flat, only, synthesize, testConfig, type Resource, type Statement, type SynthesizedStack } from '../support/infra';

// One synthesis for the whole file, without bundling (see synthesize in test/support/infra.ts).
let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesize(testConfig(), { bundle: false });
});

describe('archive bucket', () => {
  test('is named from the config, S3-encrypted, fully private, versioned and retained', () => {
    // Prepare / Act: synthesized once in beforeAll.
    // Assess
    synth.template.hasResource('AWS::S3::Bucket', {
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
    const [bucketId] = only(synth.resources('AWS::S3::Bucket').filter(([, b]) => b.Properties.BucketName === 'test-offsite-archive'), 'archive bucket');
    // Act
    const policy = only(
      synth.resources('AWS::S3::BucketPolicy').filter(([, p]) => flat(p.Properties.Bucket) === `<${bucketId}>`),
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
    synth.template.hasResourceProperties('AWS::S3::Bucket', {
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
    const archive = only(synth.resources('AWS::S3::Bucket').filter(([, b]) => b.Properties.BucketName === 'test-offsite-archive'), 'archive bucket')[1];
    const logBucketId = flat((archive.Properties.LoggingConfiguration as { DestinationBucketName: unknown }).DestinationBucketName).replace(/[<>]/g, '');
    // Act
    const logBucket = synth.template.toJSON().Resources[logBucketId] as Resource;
    const logPolicy = only(synth.resources('AWS::S3::BucketPolicy').filter(([, p]) => flat(p.Properties.Bucket) === `<${logBucketId}>`), 'log bucket policy')[1];
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

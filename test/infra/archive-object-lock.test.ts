import { AwsSolutionsChecks } from 'cdk-nag';
import type { OffsiteConfig } from '../../functions/config/schema';
import { flat, only, synthesize, testConfig, type Resource, type SynthesizedStack } from '../support/infra';

function lockedConfig(mode: 'GOVERNANCE' | 'COMPLIANCE', days: number): OffsiteConfig {
  const base = testConfig();
  return { ...base, archive: { ...base.archive, objectLock: { mode, days } } };
}

// One synthesis per configuration, without bundling (see synthesize in test/support/infra.ts).
let locked: SynthesizedStack;
let unlocked: SynthesizedStack;

beforeAll(() => {
  locked = synthesize(lockedConfig('COMPLIANCE', 30), { bundle: false, id: 'Locked' });
  unlocked = synthesize(testConfig(), { bundle: false, id: 'Unlocked' });
});

function archiveBucket(synth: SynthesizedStack): [string, Resource] {
  return only(synth.resources('AWS::S3::Bucket').filter(([, bucket]) => bucket.Properties.BucketName === 'test-offsite-archive'), 'archive bucket');
}

describe('archive bucket with archive.objectLock', () => {
  test('is created with Object Lock, versioning and the configured default retention', () => {
    // Act
    const [, bucket] = archiveBucket(locked);

    // Assess
    expect(bucket.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } } },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  test('GOVERNANCE mode is passed through as configured', () => {
    // Act
    const governance = synthesize(lockedConfig('GOVERNANCE', 7), { bundle: false, id: 'Governance' });

    // Assess
    expect(archiveBucket(governance)[1].Properties.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 7 } } });
  });

  test('server access logs go to a bucket without Object Lock (a locked bucket cannot receive them)', () => {
    // Prepare
    const [, bucket] = archiveBucket(locked);
    const logBucketId = flat((bucket.Properties.LoggingConfiguration as { DestinationBucketName: unknown }).DestinationBucketName).replace(/[<>]/g, '');

    // Act
    const logBucket = locked.template.toJSON().Resources[logBucketId] as Resource;

    // Assess
    expect(logBucketId).not.toBe(archiveBucket(locked)[0]);
    expect(logBucket.Properties.ObjectLockEnabled).toBeUndefined();
    expect(logBucket.Properties.ObjectLockConfiguration).toBeUndefined();
  });

  test('cdk-nag AwsSolutions reports nothing unacknowledged on the locked stack', () => {
    // Act
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(locked.app);

    // Assess
    expect(report.violations.map((violation) => `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  test('without archive.objectLock the bucket has no Object Lock', () => {
    // Act
    const [, bucket] = archiveBucket(unlocked);

    // Assess
    expect(bucket.Properties.ObjectLockEnabled).toBeUndefined();
    expect(bucket.Properties.ObjectLockConfiguration).toBeUndefined();
  });
});

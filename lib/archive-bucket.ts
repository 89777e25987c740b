import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';

export interface ArchiveBucketProps {
  /** The archive bucket's name (`archive.bucket` in the configuration). */
  readonly bucketName: string;
  /**
   * How many days a replaced or deleted archive object (a noncurrent version) stays
   * recoverable before S3 removes it for good.
   * @default 90
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * How many days server access logs of the archive bucket are kept.
   * @default 365
   */
  readonly accessLogRetentionDays?: number;
  /**
   * S3 Object Lock with this default retention (`archive.objectLock`): every new object
   * version cannot be deleted or overwritten before it ends. It cannot be turned off once
   * the bucket exists.
   */
  readonly objectLock?: { readonly mode: 'GOVERNANCE' | 'COMPLIANCE'; readonly days: number };
  /**
   * The archive under the operator's own KMS key (`archive.kms`): "create" makes a
   * customer-managed key with yearly rotation, kept when the stack is deleted; an ARN uses
   * that existing key (its key policy must let this account's IAM policies grant its use).
   * @default SSE-S3 (S3-managed keys)
   */
  readonly kms?: 'create' | string;
  /** The created key's alias, `alias/<aliasName>`. @default the bucket name */
  readonly keyAliasName?: string;
}

function wholeDays(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`ArchiveBucket: ${field} must be a whole number of days >= 1 (got ${value}).`);
  return value;
}

/**
 * The bucket that holds the verified off-site copies: private, encrypted, TLS only,
 * versioned (a deleted or overwritten copy stays recoverable for a while), never
 * removed with the stack, with server access logs in a bucket of its own.
 */
export class ArchiveBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;
  /** The archive's KMS key, when `kms` is set (created here, or the existing one imported). */
  readonly encryptionKey: kms.IKey | undefined;

  constructor(scope: Construct, id: string, props: ArchiveBucketProps) {
    super(scope, id);
    const noncurrentDays = wholeDays(props.noncurrentVersionExpirationDays ?? 90, 'noncurrentVersionExpirationDays');
    const logDays = wholeDays(props.accessLogRetentionDays ?? 365, 'accessLogRetentionDays');

    // Deliver access logs under a bucket policy for logging.s3.amazonaws.com instead of
    // the legacy log-delivery ACL (ACLs stay disabled on both buckets). Set here, on this
    // construct only, because cdk.json does not set the flag for the whole app.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      // Server access log delivery supports SSE-S3 only on the target bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(logDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket only receives the server access logs of the archive bucket; logging access to the log bucket itself would need yet another bucket (and so on).',
    });

    this.encryptionKey =
      props.kms === undefined
        ? undefined
        : props.kms === 'create'
          ? new kms.Key(this, 'Key', {
              description: `offsite: encrypts the archive bucket ${props.bucketName} (copies, manifests, records)`,
              alias: `alias/${props.keyAliasName ?? props.bucketName}`,
              enableKeyRotation: true,
              // Without the key the copies are unreadable forever: never delete it with the stack.
              removalPolicy: RemovalPolicy.RETAIN,
            })
          : kms.Key.fromKeyArn(this, 'Key', props.kms);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      // Bucket keys: S3 asks KMS for a bucket-level key now and then instead of a data key
      // per object, so KMS requests (and their cost) stay small however many parts a copy has.
      ...(this.encryptionKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: this.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      // Object Lock needs versioning (above). The access logs stay in the bucket above,
      // which is never locked: a bucket with Object Lock cannot receive server access logs.
      ...(props.objectLock
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention:
              props.objectLock.mode === 'COMPLIANCE'
                ? s3.ObjectLockRetention.compliance(Duration.days(wholeDays(props.objectLock.days, 'objectLock.days')))
                : s3.ObjectLockRetention.governance(Duration.days(wholeDays(props.objectLock.days, 'objectLock.days'))),
          }
        : {}),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: `${props.bucketName}/`,
      lifecycleRules: [
        // A copy that failed half-way is aborted by the copier; this catches the rest
        // (a Lambda killed mid-upload) so orphaned parts are not billed forever.
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Retention pruning deletes current versions; what it (or anybody) deleted or
        // overwrote stays recoverable as a noncurrent version for this long.
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(noncurrentDays),
          expiredObjectDeleteMarker: true,
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
    });
  }
}

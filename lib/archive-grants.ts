// What a function may do with the archive's KMS keys and in the secondary archive, derived
// from its catalog entry (`archive`, `secondary`, `archiveActions`): the same rule for every
// function, so a function's key permissions are exactly what its S3 access makes S3 ask KMS
// for on its behalf.
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { ArchiveAccess } from '../functions/catalog';
import type { OffsiteConfig, SecondaryArchiveConfig } from '../functions/config/schema';
import type { OffsiteFunction } from './offsite-function';
import { archiveSecretPrefix, secretsUnder, secretsUnderNagId } from './secret-grants';

/**
 * The environment variable the functions read the stack-created key's ARN from
 * (ARCHIVE_KMS_KEY_ENV in functions/archive/places.ts; the infrastructure test checks they
 * agree). Not imported, so synth does not load the runtime's AWS SDK.
 */
export const ARCHIVE_KMS_KEY_ENV = 'OFFSITE_ARCHIVE_KMS_KEY_ARN';

/**
 * What S3 asks KMS for on the caller's behalf: a write (PutObject, CreateMultipartUpload)
 * needs a data key; a multipart upload also decrypts it again for every part and at the
 * completion, and every read of an SSE-KMS object decrypts. Writers get both, readers Decrypt.
 */
export const KMS_WRITE_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'] as const;
export const KMS_READ_ACTIONS = ['kms:Decrypt'] as const;
/** A single-request PutObject of a document (a verification record, a drill report): a data key only. */
export const KMS_DOCUMENT_ACTIONS = ['kms:GenerateDataKey'] as const;

export type KmsAction = (typeof KMS_WRITE_ACTIONS)[number];

export function kmsActionsFor(access: ArchiveAccess | undefined): readonly KmsAction[] {
  if (access === 'write' || access === 'read-write') return KMS_WRITE_ACTIONS;
  if (access === 'read') return KMS_READ_ACTIONS;
  return [];
}

/**
 * Lets the function use the key through S3 in that region only (kms:ViaService): the role
 * cannot decrypt with it directly, only have S3 do so for the objects it may read.
 */
export function grantKeyUse(fn: OffsiteFunction, keyArn: string, actions: readonly KmsAction[], s3Region: string): void {
  if (actions.length === 0) return;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [...actions],
      resources: [keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${s3Region}.amazonaws.com` } },
    }),
  );
}

/**
 * The primary's key for a function: its use through S3, and the key's ARN in the
 * function's environment (ARCHIVE_KMS_KEY_ENV), which it writes with. Nothing without a key.
 */
export function grantArchiveKey(fn: OffsiteFunction, key: kms.IKey | undefined, actions: readonly KmsAction[], s3Region: string): void {
  if (!key || actions.length === 0) return;
  grantKeyUse(fn, key.keyArn, actions, s3Region);
  fn.function.addEnvironment(ARCHIVE_KMS_KEY_ENV, key.keyArn);
}

/**
 * The secondary when the functions reach it with their own roles: an AWS bucket (no
 * `endpoint`) without an access key of its own. Only then do IAM grants in this account
 * matter; with an access key, that key's principal is what the secondary's owner allows.
 */
export function secondaryOnRoles(config: OffsiteConfig): SecondaryArchiveConfig | undefined {
  const secondary = config.archive.secondary;
  return secondary && secondary.endpoint === undefined && secondary.credentials === undefined ? secondary : undefined;
}

/** `arn:<partition>:s3:::<bucket>/<prefix><suffix>`: the secondary's objects (the bucket is in no stack, so by name). */
export function secondaryObjectsArn(stack: Stack, secondary: SecondaryArchiveConfig, suffix = '*'): string {
  return stack.formatArn({ service: 's3', region: '', account: '', resource: secondary.bucket, resourceName: `${secondary.prefix}${suffix}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
}

/** How cdk-nag names that resource in an AwsSolutions-IAM5 finding. */
export function secondaryObjectsNagId(secondary: SecondaryArchiveConfig, suffix = '*'): string {
  return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${secondary.bucket}/${secondary.prefix}${suffix}]`;
}

export interface SecondaryGrantSpec {
  readonly secondary?: ArchiveAccess;
  readonly archiveActions?: readonly string[];
}

/**
 * The secondary's grants of one function, mirroring its primary ones: S3 on the
 * secondary's objects under its prefix (read: GetObject and a ListBucket narrowed to the
 * prefix; write: put, abort, delete; its archiveActions), its kmsKeyArn, and the access
 * key's secret. Nothing when no secondary is configured or the function does nothing there.
 */
export function grantSecondary(fn: OffsiteFunction, spec: SecondaryGrantSpec, config: OffsiteConfig): void {
  const configured = config.archive.secondary;
  const access = spec.secondary ?? 'none';
  if (!configured || access === 'none') return;
  const stack = Stack.of(fn);
  const credentials = configured.credentials;
  if (credentials && 'secret' in credentials) {
    const names = archiveSecretPrefix(config);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretsUnder(stack, names)] }));
    Validations.of(fn.role).acknowledge({
      id: secretsUnderNagId(stack, names),
      reason: `GetSecretValue on the secrets named under "${names}" only: the secondary archive's access key (archive.secondary.credentials), named there by the operator; synth refuses one named elsewhere.`,
    });
  }
  const secondary = secondaryOnRoles(config);
  if (!secondary) return;
  const objects = secondaryObjectsArn(stack, secondary);
  const reasons: string[] = [];
  if (access === 'write' || access === 'read-write') {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:DeleteObject'], resources: [objects] }));
    reasons.push('object-level writes (each copy\'s key is only known when it is copied)');
  }
  if (access === 'read' || access === 'read-write') {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects] }));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [stack.formatArn({ service: 's3', region: '', account: '', resource: secondary.bucket })],
        ...(secondary.prefix === '' ? {} : { conditions: { StringLike: { 's3:prefix': [`${secondary.prefix}*`] } } }),
      }),
    );
    reasons.push('reads (which copies exist is only known from a listing limited to the prefix)');
  }
  if (spec.archiveActions && spec.archiveActions.length > 0) {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...spec.archiveActions], resources: [objects] }));
    reasons.push(`${spec.archiveActions.join(', ')} as on the primary`);
  }
  Validations.of(fn.role).acknowledge({
    id: secondaryObjectsNagId(secondary),
    reason: `The secondary archive's objects under "${secondary.prefix}" only (s3://${secondary.bucket}, archive.secondary): ${reasons.join('; ')}; nothing outside the prefix, no bucket-level change.`,
  });
  if (secondary.kmsKeyArn) grantKeyUse(fn, secondary.kmsKeyArn, kmsActionsFor(access), secondary.region);
}

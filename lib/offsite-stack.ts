import { Annotations, CfnOutput, Stack, Token, Validations, type CfnElement, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FUNCTIONS, LIFECYCLES, lifecycleFor, type TargetKind } from '../functions/catalog';
import type { OffsiteConfig, TargetConfig } from '../functions/config/schema';
import { scheduleGroupTag } from '../functions/fleet/groups';
import { scheduledPurpose, type AuditAlarmHints } from '../functions/kinds/kind';
import { KIND_LIST, kindOf } from '../functions/kinds/registry';
import { LifecycleAlarms, type AuditGroup } from './alarms';
import { PrivateNetwork } from './private-network';
import { ArchiveBucket } from './archive-bucket';
import { ArchiveJobs } from './archive-jobs';
import { Drills } from './drills';
import { BackupSchedules } from './backup-schedules';
import { OffsiteDashboard } from './dashboard';
import { LifecycleStateMachine } from './lifecycle-state-machine';
import { FanOutStateMachine } from './fleet-fan-out';
import { OffsiteFunction } from './offsite-function';
import { kindSecretPrefix, secretPlacementErrors, secretsUnder, secretsUnderNagId } from './secret-grants';
import { grantArchiveKey, grantSecondary, kmsActionsFor } from './archive-grants';

export interface OffsiteStackProps extends StackProps {
  /** The validated configuration (the same file the CLI reads). */
  readonly config: OffsiteConfig;
}


/** Targets by schedule expression (the unscheduled ones together), in configuration order. */
function auditGroups(targets: readonly TargetConfig[]): AuditGroup[] {
  const groups = new Map<string, { tag: string; expression?: string; targets: string[] }>();
  for (const target of targets) {
    const tag = scheduleGroupTag(target.schedule);
    const group = groups.get(tag) ?? { tag, ...(target.schedule === undefined ? {} : { expression: target.schedule }), targets: [] };
    group.targets.push(target.name);
    groups.set(tag, group);
  }
  return [...groups.values()];
}

/**
 * offsite in one stack: the archive bucket, the configuration object, one function
 * per catalog entry (each with only the permissions it needs), one state machine per
 * lifecycle, alarms, and the backup schedules.
 */
export class OffsiteStack extends Stack {
  readonly archive: ArchiveBucket;
  /** The validated configuration as a JSON object (a CDK asset) the functions read. */
  readonly configObject: Asset;
  readonly functions = new Map<string, OffsiteFunction>();
  readonly lifecycles = new Map<string, LifecycleStateMachine>();
  /** By the id of the lifecycle each runs over a group of targets. */
  readonly fanOuts = new Map<string, FanOutStateMachine>();
  readonly alarms: LifecycleAlarms;
  readonly schedules: BackupSchedules;
  /** The imported VPC placement of the private-network functions (`network` in the configuration). */
  readonly privateNetwork?: PrivateNetwork;

  constructor(scope: Construct, id: string, props: OffsiteStackProps) {
    const { config, ...stackProps } = props;
    super(scope, id, { description: 'offsite: serverless backup orchestrator (archive bucket, lifecycles, schedules, alarms)', ...stackProps });
    this.checkDeployable(config);
    const namePrefix = this.stackName.toLowerCase().replace(/[^a-z0-9-]+/g, '-');

    this.archive = new ArchiveBucket(this, 'Archive', {
      bucketName: config.archive.bucket,
      ...(config.archive.objectLock ? { objectLock: config.archive.objectLock } : {}),
      ...(config.archive.kms ? { kms: config.archive.kms, keyAliasName: `${namePrefix}-archive` } : {}),
    });

    // The functions read the validated configuration from this object (no secrets in it:
    // credentials are references to Secrets Manager). An S3 object has no size cliff (an
    // SSM parameter stopped at 8 KB, about two dozen targets) and adds no resource to the
    // stack: the asset goes to the bootstrap bucket, keyed by its content hash.
    const configDir = mkdtempSync(join(tmpdir(), 'offsite-config-'));
    writeFileSync(join(configDir, 'offsite.config.json'), JSON.stringify(config));
    this.configObject = new Asset(this, 'Config', { path: join(configDir, 'offsite.config.json') });
    // One policy for every function: GetObject on that one object, nothing else in the bootstrap bucket.
    const configRead = new iam.ManagedPolicy(this, 'ConfigRead', {
      description: 'offsite: read the deployed configuration object (and nothing else in the CDK assets bucket)',
      statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.configObject.bucket.arnForObjects(this.configObject.s3ObjectKey)] })],
    });

    // Functions that reach private networks run in the configured VPC (see PrivateNetwork for
    // the routes its subnets need); the others stay outside any VPC and reach the SaaS APIs
    // directly. Without `network`, nothing is in a VPC (checkDeployable warns). The construct
    // keeps its first id, "ApplianceNetwork", so the synthesized template stays as it was.
    if (config.network) this.privateNetwork = new PrivateNetwork(this, 'ApplianceNetwork', config.network);

    // A kind's functions may read the secrets named under <secretPrefix><kind>/ (lib/secret-grants.ts):
    // one pattern, however many targets; only for kinds whose targets reference a secret.
    const kindsWithSecrets = new Set(config.targets.filter((target) => kindOf(target).credentialReferences(target).some(({ ref }) => 'secret' in ref)).map((target) => target.kind));
    // A kind's functions and state machines are deployed only when a target of that kind is
    // configured: the stack grows with the kinds in use, not with every kind offsite knows.
    const configuredKinds = new Set<TargetKind>(config.targets.map((target) => target.kind));
    const deployed = (kind: TargetKind | undefined): boolean => kind === undefined || configuredKinds.has(kind);
    for (const spec of FUNCTIONS.filter((candidate) => deployed(candidate.kind))) {
      const fn = new OffsiteFunction(this, spec.id, {
        spec,
        configObject: { bucketName: this.configObject.s3BucketName, objectKey: this.configObject.s3ObjectKey },
        ...(spec.network === 'private-network' && this.privateNetwork ? { network: this.privateNetwork } : {}),
      });
      configRead.attachToRole(fn.role);
      // Only the secrets of the function's own kind; no grant when its targets reference none.
      // The archive's own jobs (no kind) call no vendor and get no secret at all.
      if (spec.kind !== undefined && kindsWithSecrets.has(spec.kind)) {
        const secretNames = kindSecretPrefix(config, spec.kind);
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretsUnder(this, secretNames)] }));
        Validations.of(fn.role).acknowledge({
          id: secretsUnderNagId(this, secretNames),
          reason: `GetSecretValue on the secrets named under "${secretNames}" only: the ${spec.kind} targets' credentials, named there by the operator (secretPrefix), so the policy does not grow with the targets; synth refuses a ${spec.kind} secret named elsewhere.`,
        });
      }
      if (spec.archive === 'write' || spec.archive === 'read-write') this.grantArchiveWrite(fn, config.archive.prefix);
      if (spec.archive === 'read' || spec.archive === 'read-write') this.grantArchiveRead(fn, config.archive.prefix);
      if (spec.archiveActions && spec.archiveActions.length > 0) {
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...spec.archiveActions], resources: [this.archive.bucket.arnForObjects(`${config.archive.prefix}*`)] }));
      }
      // The key actions S3 asks KMS for on the function's behalf, from the same `archive` access.
      grantArchiveKey(fn, this.archive.encryptionKey, kmsActionsFor(spec.archive), config.archive.region);
      grantSecondary(fn, spec, config);
      this.functions.set(spec.id, fn);
    }

    const byId = new Map<string, lambda.IFunction>([...this.functions].map(([functionId, fn]) => [functionId, fn.function]));
    for (const spec of LIFECYCLES.filter((candidate) => deployed(candidate.kind))) {
      const lifecycle = new LifecycleStateMachine(this, spec.id, { spec, functions: byId, namePrefix });
      this.lifecycles.set(spec.id, lifecycle);
    }

    // One fan-out per kind's scheduled lifecycle (its backup, else its audit): it runs that
    // lifecycle over a group of targets, so schedules need not grow with the targets. Only
    // for kinds with a scheduled target: the others have nothing to fan out.
    for (const definition of KIND_LIST) {
      const purpose = scheduledPurpose(definition);
      if (purpose === undefined) continue;
      if (!config.targets.some((target) => target.kind === definition.kind && target.schedule !== undefined)) continue;
      const child = this.lifecycle(lifecycleFor(definition.kind, purpose).id);
      this.fanOuts.set(child.spec.id, new FanOutStateMachine(this, `${child.spec.id}FanOut`, { lifecycle: child, functions: byId, namePrefix }));
    }

    this.schedules = new BackupSchedules(this, 'Schedules', {
      targets: config.targets,
      timezone: config.timezone,
      namePrefix,
      fanOutFor: (spec) => {
        const fanOut = this.fanOuts.get(spec.id);
        if (!fanOut) throw new Error(`No fan-out for lifecycle ${spec.id}`);
        return fanOut.stateMachine;
      },
    });

    this.alarms = new LifecycleAlarms(this, 'Alarms', {
      alarmEmail: config.alarmEmail,
      lifecycles: [...this.lifecycles.values()].map((lifecycle) => ({
        purpose: lifecycle.spec.purpose,
        kind: lifecycle.spec.kind,
        stateMachine: lifecycle.stateMachine,
        stateMachineName: lifecycle.stateMachineName,
        // One coverage-gap alarm per group of targets an audit lifecycle reports on (by schedule expression).
        auditGroups: lifecycle.spec.purpose === 'audit' ? auditGroups(config.targets.filter((target) => target.kind === lifecycle.spec.kind)) : [],
      })),
    });

    new ArchiveJobs(this, 'ArchiveJobs', { config, functions: this.functions, bucket: this.archive.bucket, encryptionKey: this.archive.encryptionKey, topic: this.alarms.topic, namePrefix });
    const drills = new Drills(this, 'Drills', {
      config,
      functions: this.functions,
      restoreStateMachineFor: (kind) => this.lifecycle(lifecycleFor(kind, 'restore').id),
      bucket: this.archive.bucket,
      encryptionKey: this.archive.encryptionKey,
      topic: this.alarms.topic,
      namePrefix,
    });
    new OffsiteDashboard(this, 'Dashboard', {
      dashboardName: namePrefix,
      lifecycles: [...this.lifecycles.values()].map((lifecycle) => ({ stateMachine: lifecycle.stateMachine, stateMachineName: lifecycle.stateMachineName })),
      drills: drills.machines,
      places: config.archive.secondary ? ['primary', 'secondary'] : ['primary'],
      copyKinds: [...new Set(FUNCTIONS.filter((spec) => spec.archive === 'write' && deployed(spec.kind)).flatMap((spec) => (spec.kind === undefined ? [] : [spec.kind])))],
      audits: KIND_LIST.flatMap((definition) => {
        const metrics = (definition.alarmHints as { readonly audit?: AuditAlarmHints }).audit?.metrics;
        return metrics ? [{ kind: definition.kind, metrics, targets: config.targets.filter((target) => target.kind === definition.kind).map((target) => target.name) }] : [];
      }),
    });

    new CfnOutput(this, 'ArchiveBucketName', { value: this.archive.bucket.bucketName, description: 'Bucket holding the verified off-site copies' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn, description: 'SNS topic every offsite alarm notifies' });
    for (const [lifecycleId, fanOut] of this.fanOuts) {
      new CfnOutput(this, `${lifecycleId}FanOutStateMachineArn`, {
        value: fanOut.stateMachine.stateMachineArn,
        description: `fan-out running ${lifecycleId} over a group of targets (${fanOut.stateMachineName}); input {"lifecycle": "${lifecycleId}", "schedule"?: "<expression>", "targets"?: ["<name>"]}`,
      });
    }
    for (const lifecycle of this.lifecycles.values()) {
      new CfnOutput(this, `${lifecycle.spec.id}StateMachineArn`, {
        value: lifecycle.stateMachine.stateMachineArn,
        description: `${lifecycle.spec.purpose} state machine for ${lifecycle.spec.kind} (${lifecycle.stateMachineName})`,
      });
    }
  }

  private lifecycle(id: string): LifecycleStateMachine {
    const lifecycle = this.lifecycles.get(id);
    if (!lifecycle) throw new Error(`No state machine for lifecycle ${id}`);
    return lifecycle;
  }

  /** Object-level write access below the prefix only; nothing on the bucket itself. */
  private grantArchiveWrite(fn: OffsiteFunction, prefix: string): void {
    const objects = this.archive.bucket.arnForObjects(`${prefix}*`);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:DeleteObject'],
        resources: [objects],
      }),
    );
    // cdk-nag reports the resource as the bucket's logical-id token plus "/<prefix>*".
    const bucketLogicalId = this.getLogicalId(this.archive.bucket.node.defaultChild as CfnElement);
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
      reason: `Object-level write access to archive objects under "${prefix}" only (each new copy's key is only known when the copy runs); no bucket-level access, nothing outside the prefix.`,
    });
  }

  /**
   * Read access below the prefix only: GetObject on the objects, and ListBucket limited to
   * listings of keys under the prefix. No write, delete or bucket-level change.
   */
  private grantArchiveRead(fn: OffsiteFunction, prefix: string): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.archive.bucket.arnForObjects(`${prefix}*`)] }));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.archive.bucket.bucketArn],
        // Without a prefix the whole bucket is the archive, so there is nothing to narrow.
        ...(prefix === '' ? {} : { conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } } }),
      }),
    );
    const bucketLogicalId = this.getLogicalId(this.archive.bucket.node.defaultChild as CfnElement);
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
      reason: `Read-only access (s3:GetObject) to archive objects under "${prefix}" only (which copies and manifests exist is only known at run time, from a listing limited to the prefix); no write, no delete, nothing outside the prefix.`,
    });
  }

  /** Configurations that synthesize but would not work once deployed. */
  private checkDeployable(config: OffsiteConfig): void {
    // A secret outside the granted prefixes would deploy and then fail every night: refuse it
    // here (an error annotation fails `cdk synth`, naming each such target and field).
    for (const misplaced of secretPlacementErrors(config, this)) Annotations.of(this).addError(misplaced);
    if (!Token.isUnresolved(this.region) && this.region !== config.archive.region) {
      Annotations.of(this).addError(
        `This stack deploys to ${this.region} but archive.region is ${config.archive.region}: the bucket would be created in ${this.region} and the functions would look for it in ${config.archive.region}. ` +
          `Deploy to ${config.archive.region} (AWS_REGION / --profile) or change archive.region.`,
      );
    }
    if (config.archive.endpoint) {
      Annotations.of(this).addWarning(
        `archive.endpoint (${config.archive.endpoint}) is set: the deployed functions would write to that S3-compatible store, not to the bucket this stack creates. Remove it for the AWS deployment.`,
      );
    }
    const secondaryCredentials = config.archive.secondary?.credentials;
    if (secondaryCredentials && 'env' in secondaryCredentials) {
      Annotations.of(this).addWarning(
        `archive.secondary.credentials.env (${secondaryCredentials.env}) is set; Lambda functions have no such variable. Use { "secret": "<name or ARN>" } for the AWS deployment.`,
      );
    }
    for (const target of config.targets) {
      for (const { field, ref } of kindOf(target).credentialReferences(target)) {
        if (!('env' in ref)) continue;
        Annotations.of(this).addWarning(
          `Target "${target.name}" uses ${field}.env (${ref.env}); Lambda functions have no such variable. Use { "secret": "<name or ARN>" } for the AWS deployment.`,
        );
      }
    }
    const onPrivateNetworks = config.targets.filter((target) => kindOf(target).functions.some((fn) => fn.network === 'private-network'));
    if (onPrivateNetworks.length > 0 && !config.network) {
      Annotations.of(this).addWarningV2(
        'offsite:applianceNetworkMissing',
        `${[...new Set(onPrivateNetworks.map((target) => kindOf(target).title))].join(' and ')} functions are not in a VPC; they can only reach targets with public addresses (${onPrivateNetworks.map((target) => target.name).join(', ')}). ` +
          'Set "network" (vpcId, subnetIds, securityGroupIds) to run them where those targets can be reached.',
      );
    }
  }
}

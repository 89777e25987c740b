import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { FunctionSpec } from '../functions/catalog';
import type { FunctionNetwork } from './private-network';

/**
 * The environment variable the functions read the configuration object's location from,
 * `s3://<bucket>/<key>` (CONFIG_OBJECT_ENV in functions/runtime/config-source.ts; the
 * infrastructure test checks they agree). Not imported, so synth does not load the runtime's AWS SDK.
 */
export const CONFIG_OBJECT_ENV = 'OFFSITE_CONFIG_OBJECT';

/** The repository root: catalog entries and ASL files are relative to it. */
export const REPO_ROOT = resolve(__dirname, '..');

export interface OffsiteFunctionProps {
  /** The catalog entry (id, handler entry, memory, timeout). */
  readonly spec: FunctionSpec;
  /** Where the configuration JSON the stack deploys is (the functions read it once per cold start). */
  readonly configObject: { readonly bucketName: string; readonly objectKey: string };
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** @default the repository this file lives in */
  readonly repoRoot?: string;
  /**
   * Attach the function to these existing subnets and security groups.
   * @default not in a VPC
   */
  readonly network?: FunctionNetwork;
}

/**
 * What Lambda needs in the execution role to attach a function to a VPC: the EC2 actions
 * of AWSLambdaVPCAccessExecutionRole, without that managed policy's logs:* on "*".
 */
export const VPC_ACCESS_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

/**
 * One Lambda function of the catalog with the defaults every offsite function shares:
 * Node.js 22 on arm64, bundled locally by esbuild (never Docker), its own log group and
 * role, X-Ray tracing, and the configuration object's location in its environment; attached to
 * the given subnets and security groups when `network` is set. Permissions beyond writing
 * its own logs and traces (and managing its network interfaces) are granted by the stack.
 */
export class OffsiteFunction extends Construct implements iam.IGrantable {
  readonly spec: FunctionSpec;
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: OffsiteFunctionProps) {
    super(scope, id);
    const { spec } = props;
    this.spec = spec;
    const repoRoot = props.repoRoot ?? REPO_ROOT;
    const entry = join(repoRoot, spec.entry);
    if (!existsSync(entry)) {
      throw new Error(`Function ${spec.id}: handler file ${spec.entry} (from functions/catalog.ts) does not exist under ${repoRoot}.`);
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      // Operational logs only (the archive is what must survive); bounded by retention anyway.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // An explicit role instead of the default one with AWSLambdaBasicExecutionRole:
    // it may write to this function's log group only, not create or write any other.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `offsite ${spec.id}: ${spec.description}`.slice(0, 1000),
    });
    this.logGroup.grantWrite(this.role);
    const { network } = props;
    if (network) {
      // Before the function: Lambda checks these when it creates the function's network
      // interfaces (the function depends on the role and so on this policy).
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: VPC_ACCESS_ACTIONS, resources: ['*'] }));
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      description: spec.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      ...(network
        ? {
            vpc: network.vpc,
            vpcSubnets: { subnets: [...network.subnets] },
            // Imported (immutable) groups: CDK creates no group of its own and adds no rule.
            securityGroups: [...network.securityGroups],
          }
        : {}),
      projectRoot: repoRoot,
      depsLockFilePath: join(repoRoot, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: 'offsite',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: spec.nodeOptions,
        [CONFIG_OBJECT_ENV]: `s3://${props.configObject.bucketName}/${props.configObject.objectKey}`,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node22',
        format: OutputFormat.CJS,
        // Bundle the AWS SDK too: the copier depends on the signing and checksum
        // behaviour of the SDK version tested here, not on whatever the runtime ships.
        externalModules: [],
        forceDockerBundling: false,
        // Warnings and errors only: no per-function size summary on every synth.
        logLevel: LogLevel.WARNING,
      },
    });

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The design pins Node.js 22 (nodejs22.x): bundles target node22 and the code is tested on it; move to a newer runtime deliberately, with the tests.',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions (Resource must be "*").' +
        (network
          ? ' VPC placement: Lambda creates, describes and deletes the function\'s network interfaces in the configured subnets with the execution role ' +
            '(the EC2 actions of AWSLambdaVPCAccessExecutionRole, granted inline without its logs:* on "*"); ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets ' +
            'support no resource-level permissions, and the interfaces do not exist before Lambda creates them.'
          : ''),
    });
  }

  get grantPrincipal(): iam.IPrincipal {
    return this.role;
  }

  /** Adds a statement to this function's own role policy. */
  addToRolePolicy(statement: iam.PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }
}

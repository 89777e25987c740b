import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { functionArnPlaceholder, type LifecycleSpec } from '../functions/catalog';
import { REPO_ROOT } from './offsite-function';

export interface LifecycleStateMachineProps {
  /** The catalog lifecycle (ASL file, kind, purpose, timeout). */
  readonly spec: LifecycleSpec;
  /** The catalog functions by id; the ASL's `${<Id>FunctionArn}` placeholders are filled from it. */
  readonly functions: ReadonlyMap<string, lambda.IFunction>;
  /** Start of the state machine's name, e.g. "offsite" → "offsite-netbox-cloud-backup". */
  readonly namePrefix: string;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** @default the repository this file lives in */
  readonly repoRoot?: string;
}

const PLACEHOLDER = /\$\{([^}]*)\}/g;

/** Every `${name}` in an ASL text, in order of first appearance. */
export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((match) => match[1] ?? ''))];
}

/**
 * The ASL text with TimeoutSeconds set from the catalog. Step Functions ignores the
 * construct's `timeout` for a string definition, so the ceiling has to live in the
 * definition itself; a file that states a different ceiling is an error.
 */
function definitionWithTimeout(text: string, file: string, timeoutSeconds: number): string {
  let definition: Record<string, unknown>;
  try {
    definition = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const stated = definition.TimeoutSeconds;
  if (stated !== undefined && stated !== timeoutSeconds) {
    throw new Error(
      `${file} sets TimeoutSeconds ${JSON.stringify(stated)}, but functions/catalog.ts gives this lifecycle ${timeoutSeconds / 3600} h (${timeoutSeconds} s). Make them agree.`,
    );
  }
  return JSON.stringify({ ...definition, TimeoutSeconds: timeoutSeconds });
}

/**
 * One lifecycle ASL file as a Standard state machine: every `${<Id>FunctionArn}` filled
 * with that function's ARN (and only those functions invocable), all events logged to
 * its own log group, X-Ray tracing on, the catalog's timeout as a hard ceiling.
 */
export class LifecycleStateMachine extends Construct {
  readonly spec: LifecycleSpec;
  readonly stateMachine: sfn.StateMachine;
  readonly stateMachineName: string;
  readonly logGroup: logs.LogGroup;
  /** Catalog ids of the functions this lifecycle invokes. */
  readonly functionIds: readonly string[];

  constructor(scope: Construct, id: string, props: LifecycleStateMachineProps) {
    super(scope, id);
    const { spec } = props;
    this.spec = spec;
    this.stateMachineName = `${props.namePrefix}-${spec.kind}-${spec.purpose}`;
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(this.stateMachineName)) {
      throw new Error(`State machine name "${this.stateMachineName}" is invalid: at most 80 letters, digits, "-" and "_".`);
    }

    const file = spec.definitionFile;
    const text = readFileSync(join(props.repoRoot ?? REPO_ROOT, file), 'utf8');

    const byPlaceholder = new Map([...props.functions].map(([functionId, fn]) => [functionArnPlaceholder(functionId), { functionId, fn }]));
    const substitutions: Record<string, string> = {};
    const invoked: { functionId: string; fn: lambda.IFunction }[] = [];
    const unknown: string[] = [];
    for (const placeholder of placeholdersIn(text)) {
      const target = byPlaceholder.get(placeholder);
      if (!target) {
        unknown.push(placeholder);
        continue;
      }
      substitutions[placeholder] = target.fn.functionArn;
      invoked.push(target);
    }
    if (unknown.length > 0) {
      throw new Error(
        `${file} (lifecycle ${spec.id}) uses ${unknown.map((name) => `\${${name}}`).join(', ')}, but no function in functions/catalog.ts has that placeholder. ` +
          `Known: ${[...byPlaceholder.keys()].map((name) => `\${${name}}`).join(', ')}.`,
      );
    }
    this.functionIds = invoked.map((entry) => entry.functionId);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // The /aws/vendedlogs/ prefix keeps Step Functions' log delivery within the
      // CloudWatch Logs resource-policy size limit however many lifecycles there are.
      logGroupName: `/aws/vendedlogs/states/${this.stateMachineName}`,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      // A named log group left behind would block re-creating the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      // fromString keeps the definition inline (fromFile makes it an S3 asset).
      definitionBody: sfn.DefinitionBody.fromString(definitionWithTimeout(text, file, spec.timeoutHours * 3600)),
      definitionSubstitutions: substitutions,
      // No secret ever enters execution data by design (functions resolve credentials
      // and download URLs themselves), so full execution data is safe to log.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    if (invoked.length > 0) {
      // Unqualified ARNs only: the ASL invokes $LATEST by ARN, never a version or alias.
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: invoked.map((entry) => entry.fn.functionArn) }),
      );
    }

    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Added by CDK for Step Functions logging and tracing: the CloudWatch Logs vended-log delivery actions (logs:CreateLogDelivery, PutResourcePolicy, ...) and the X-Ray actions do not support resource-level permissions.',
    });
  }
}

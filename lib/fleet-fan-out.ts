import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArnFormat, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { functionArnPlaceholder } from '../functions/catalog';
import { FAN_OUT_DEFINITION_FILE, FAN_OUT_TIMEOUT_HOURS, FLEET_FUNCTIONS, LIFECYCLE_STATE_MACHINE_PLACEHOLDER } from '../functions/fleet/jobs';
import { REPO_ROOT } from './offsite-function';

export interface FanOutStateMachineProps {
  /** The machine whose targets this fan-out runs (its only child): a lifecycle's, or a kind's drill machine. */
  readonly lifecycle: { readonly stateMachine: sfn.IStateMachine; readonly stateMachineName: string };
  /** The catalog functions by id (the Fleet* functions among them). */
  readonly functions: ReadonlyMap<string, lambda.IFunction>;
  /** Start of the state machine's name, e.g. "offsite" → "offsite-appliance-backup-fan-out". */
  readonly namePrefix: string;
}

/**
 * state-machines/fan-out.asl.json for one lifecycle: it may invoke the Fleet* functions
 * and start (and follow, and stop) executions of that one lifecycle's machine, nothing else.
 */
export class FanOutStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly stateMachineName: string;

  constructor(scope: Construct, id: string, props: FanOutStateMachineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const child = props.lifecycle;
    this.stateMachineName = `${child.stateMachineName}-fan-out`;
    const functions = FLEET_FUNCTIONS.map((spec) => {
      const fn = props.functions.get(spec.id);
      if (!fn) throw new Error(`FanOutStateMachine: no function ${spec.id} in the catalog (functions/fleet/jobs.ts)`);
      return { spec, fn };
    });
    const definition = JSON.parse(readFileSync(join(REPO_ROOT, FAN_OUT_DEFINITION_FILE), 'utf8')) as Record<string, unknown>;
    if (definition.TimeoutSeconds !== FAN_OUT_TIMEOUT_HOURS * 3600) throw new Error(`${FAN_OUT_DEFINITION_FILE} must set TimeoutSeconds ${FAN_OUT_TIMEOUT_HOURS * 3600} (functions/fleet/jobs.ts)`);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${this.stateMachineName}`,
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(definition)),
      definitionSubstitutions: {
        ...Object.fromEntries(functions.map(({ spec, fn }) => [functionArnPlaceholder(spec.id), fn.functionArn])),
        [LIFECYCLE_STATE_MACHINE_PLACEHOLDER]: child.stateMachine.stateMachineArn,
      },
      // Names, statuses and short error names only: no secret enters this execution's data.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: functions.map(({ fn }) => fn.functionArn) }));
    // What startExecution.sync:2 needs: start the child, follow and stop its executions, and
    // the managed EventBridge rule Step Functions uses to learn that a child finished.
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [child.stateMachine.stateMachineArn] }));
    const childExecutions = stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${child.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [childExecutions] }));
    const rule = stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule' });
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'], resources: [rule] }));

    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Added by CDK for Step Functions logging and tracing: the CloudWatch Logs vended-log delivery actions and the X-Ray actions do not support resource-level permissions.',
    });
    Validations.of(this.stateMachine.role).acknowledge({
      // cdk-nag names the resource as the template has it: literal region and account when the stack's env gives them.
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region}:${Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account}:execution:${child.stateMachineName}:*]`,
      reason: 'Following and stopping the executions of the one lifecycle this fan-out starts (startExecution.sync): their names are only known once started.',
    });
  }
}

// Runs the synthesized state machines with the project's local runner (bin/local): each
// definition as the template gives it, its Task states bound to the functions their
// Resource ARNs name (run from their bundles), and every call Step Functions or
// EventBridge Scheduler would make with a role checked against that role: InvokeFunction
// for each Task, the child executions of startExecution.sync:2 (StartExecution,
// DescribeExecution, StopExecution, the managed events rule), a schedule's target.
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { allStates, runDefinition, type JsonValue, type LifecycleOutcome, type StateList, type TaskHandlers } from '../../../bin/local/local-runner';
import { evaluate, evaluateAssumeRole, type AccessDecision } from './iam';
import type { FunctionIdentity, LambdaPool } from './lambda-pool';
import type { FunctionModel, RoleModel, ScheduleModel, StackModel, StateMachineModel } from './template';

const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync:2';
/** How long Wait states and Retry intervals take in the rehearsal (the simulators answer in seconds, not hours). */
const WAIT_MS = 150;
const RETRY_MS = 50;

export interface MachineRunnerOptions {
  readonly stack: StackModel;
  readonly pool: LambdaPool;
  readonly identityOf: (fn: FunctionModel) => FunctionIdentity;
  /** Where every decision and finding goes (shared with the AWS endpoint). */
  readonly decisions: AccessDecision[];
  readonly findings: { caller: string; problem: string }[];
}

/** A Task's failure as Step Functions reports it when the call itself was refused. */
class TaskRefused extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class MachineRunner {
  private executions = 0;

  constructor(private readonly options: MachineRunnerOptions) {}

  private async allow(caller: string, role: RoleModel, action: string, resource: string): Promise<boolean> {
    const decision = await evaluate({ caller, role, action, resource }, this.options.stack.deployment.account);
    this.options.decisions.push(decision);
    return decision.allowed;
  }

  private functionTask(machine: StateMachineModel, stateName: string, resource: string): (input: JsonValue) => Promise<JsonValue> {
    return async (input) => {
      const fn = this.options.stack.functionByArn(resource);
      if (!fn) {
        this.options.findings.push({ caller: machine.name, problem: `Task ${stateName} names ${resource}, which is not a function of the stack` });
        throw new TaskRefused('Lambda.ResourceNotFoundException', `Function not found: ${resource}`);
      }
      if (!(await this.allow(machine.name, machine.role, 'lambda:InvokeFunction', fn.arn))) {
        throw new TaskRefused('Lambda.AWSLambdaException', `${machine.role.arn} is not authorized to perform: lambda:InvokeFunction on resource: ${fn.arn}`);
      }
      return (await this.options.pool.invoke(fn, this.options.identityOf(fn), input)) as JsonValue;
    };
  }

  private childExecutionTask(machine: StateMachineModel, executionName: string): (input: JsonValue) => Promise<JsonValue> {
    return async (input) => {
      const { StateMachineArn: arn, Input: childInput } = (input ?? {}) as { StateMachineArn?: string; Input?: JsonValue };
      const child = this.options.stack.stateMachineByArn(String(arn));
      if (!child) {
        this.options.findings.push({ caller: machine.name, problem: `startExecution names ${String(arn)}, which is not a state machine of the stack` });
        throw new TaskRefused('StepFunctions.StateMachineDoesNotExistException', `State Machine Does Not Exist: '${String(arn)}'`);
      }
      const { region, account } = this.options.stack.deployment;
      const childName = `${executionName}-${++this.executions}`.slice(0, 80);
      const executionArn = `arn:aws:states:${region}:${account}:execution:${child.name}:${childName}`;
      const rule = `arn:aws:events:${region}:${account}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`;
      // What the .sync integration does with the parent's role: start, follow (the managed rule and DescribeExecution), stop on abort.
      for (const [action, resource] of [
        ['states:StartExecution', child.arn],
        ['states:DescribeExecution', executionArn],
        ['states:StopExecution', executionArn],
        ['events:PutTargets', rule],
        ['events:PutRule', rule],
        ['events:DescribeRule', rule],
      ] as const) {
        if (!(await this.allow(machine.name, machine.role, action, resource))) {
          throw new TaskRefused('StepFunctions.AccessDeniedException', `${machine.role.arn} is not authorized to perform: ${action} on resource: ${resource}`);
        }
      }
      const outcome = await this.start(child, typeof childInput === 'string' ? (JSON.parse(childInput) as JsonValue) : (childInput ?? {}), childName);
      if (!outcome.succeeded) throw new TaskRefused('States.TaskFailed', JSON.stringify({ ExecutionArn: executionArn, Status: 'FAILED', Error: outcome.error ?? null, Cause: outcome.cause ?? null }));
      return { ExecutionArn: executionArn, Status: 'SUCCEEDED', Output: (outcome.output ?? null) as JsonValue };
    };
  }

  /** Starts an execution of the machine as deployed and waits for its end. */
  async start(machine: StateMachineModel, input: JsonValue, executionName = `rehearsal-${++this.executions}`): Promise<LifecycleOutcome> {
    const definition = JSON.parse(machine.definition) as StateMachineDefinition;
    const handlers: TaskHandlers = {};
    const waits: Record<string, number> = {};
    const retries: Record<string, number> = {};
    for (const [stateName, state] of allStates(definition.States as unknown as StateList)) {
      if (state.Type === 'Wait') waits[stateName] = WAIT_MS;
      if (state.Type !== 'Task') continue;
      if (state.Retry) retries[stateName] = RETRY_MS;
      const resource = state.Resource ?? '';
      if (resource === START_EXECUTION_SYNC) handlers[stateName] = this.childExecutionTask(machine, executionName);
      else if (resource.startsWith('arn:aws:lambda:')) handlers[stateName] = this.functionTask(machine, stateName, resource);
      else throw new Error(`${machine.name}: Task ${stateName} uses ${resource}, which the rehearsal does not run`);
    }
    return runDefinition(definition, handlers, { input, executionName, waitOverridesMs: waits, retryOverridesMs: retries });
  }

  /** What EventBridge Scheduler does when the schedule fires: assume its role, start the target with its input. */
  async fire(schedule: ScheduleModel): Promise<{ readonly outcome: LifecycleOutcome | { readonly succeeded: boolean; readonly output?: unknown; readonly error?: string; readonly cause?: string } }> {
    const input = JSON.parse(schedule.input) as JsonValue;
    const machine = this.options.stack.stateMachineByArn(schedule.targetArn);
    const fn = this.options.stack.functionByArn(schedule.targetArn);
    const caller = `schedule ${schedule.name}`;
    // Scheduler assumes the role for the schedule's group (the default one), naming the account and the group.
    const { region, account } = this.options.stack.deployment;
    const assumed = await evaluateAssumeRole('scheduler.amazonaws.com', schedule.role, { 'aws:SourceAccount': account, 'aws:SourceArn': `arn:aws:scheduler:${region}:${account}:schedule-group/default` }, account);
    this.options.decisions.push(assumed);
    if (!assumed.allowed) return { outcome: { succeeded: false, error: 'AccessDenied', cause: `scheduler.amazonaws.com may not assume ${schedule.role.arn} for ${caller}` } };
    if (machine) {
      if (!(await this.allow(caller, schedule.role, 'states:StartExecution', machine.arn))) return { outcome: { succeeded: false, error: 'AccessDenied', cause: `${caller} may not start ${machine.arn}` } };
      return { outcome: await this.start(machine, input) };
    }
    if (fn) {
      if (!(await this.allow(caller, schedule.role, 'lambda:InvokeFunction', fn.arn))) return { outcome: { succeeded: false, error: 'AccessDenied', cause: `${caller} may not invoke ${fn.arn}` } };
      try {
        return { outcome: { succeeded: true, output: await this.options.pool.invoke(fn, this.options.identityOf(fn), input) } };
      } catch (error) {
        return { outcome: { succeeded: false, error: (error as Error).name, cause: (error as Error).message } };
      }
    }
    this.options.findings.push({ caller, problem: `targets ${schedule.targetArn}, which is neither a state machine nor a function of the stack` });
    return { outcome: { succeeded: false, error: 'TargetNotFound', cause: schedule.targetArn } };
  }
}

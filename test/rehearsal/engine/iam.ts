// Every call the rehearsal sees is decided by @cloud-copilot/iam-simulate, a maintained
// IAM policy evaluator (identity policies, resource policies, all condition operators),
// against the policies the synthesized template attaches to the caller's role.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { PolicyDocument, RoleModel } from './template';

export interface AccessRequest {
  /** Who calls: a function, a state machine or a schedule, as the report names it. */
  readonly caller: string;
  readonly role: RoleModel;
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string | string[]>>;
  /** The resource's own policy (the archive bucket's), when it has one. */
  readonly resourcePolicy?: PolicyDocument;
}

export interface AccessDecision extends AccessRequest {
  readonly allowed: boolean;
  /** Allowed, ImplicitlyDenied, ExplicitlyDenied, or the evaluator's error. */
  readonly result: string;
}

export function describeDecision(decision: AccessDecision): string {
  return `${decision.caller} (role ${decision.role.name}) ${decision.allowed ? 'may' : 'may not'} ${decision.action} on ${decision.resource}: ${decision.result}`;
}

/** Decides one request as IAM would in the account the rehearsal deploys to. */
export async function evaluate(request: AccessRequest, account: string): Promise<AccessDecision> {
  const sessionName = request.caller.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${account}:assumed-role/${request.role.name}/${sessionName}`,
        action: request.action,
        resource: { resource: request.resource, accountId: account },
        // Deployed, every SDK call goes over TLS 1.2 or newer: the archive bucket's policy denies anything else.
        contextVariables: { 'aws:SecureTransport': 'true', ...(request.action.startsWith('s3:') ? { 's3:TlsVersion': '1.3' } : {}), ...request.context },
      },
      identityPolicies: request.role.policies.map((policy) => ({ name: policy.name, policy: policy.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
    },
    {},
  );
  if (result.resultType === 'error') return { ...request, allowed: false, result: `evaluator error: ${JSON.stringify(result.errors)}` };
  return { ...request, allowed: result.overallResult === 'Allowed', result: result.overallResult };
}

/** Whether the service may assume the role, by the role's trust policy, with the context the service sends. */
export async function evaluateAssumeRole(service: string, role: RoleModel, context: Readonly<Record<string, string>>, account: string): Promise<AccessDecision> {
  const request = { caller: service, role, action: 'sts:AssumeRole', resource: role.arn, context };
  const result = await runSimulation(
    {
      request: { principal: service, action: 'sts:AssumeRole', resource: { resource: role.arn, accountId: account }, contextVariables: { ...context } },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: role.trustPolicy,
    },
    {},
  );
  if (result.resultType === 'error') return { ...request, allowed: false, result: `evaluator error: ${JSON.stringify(result.errors)}` };
  return { ...request, allowed: result.overallResult === 'Allowed', result: result.overallResult };
}

// The limits a synthesized template meets only when deployed: CloudFormation's own (resources,
// template bytes, outputs) and those synth never checks — IAM's policy sizes and managed
// policies per role, Lambda's environment size, a state machine definition's size. IAM
// measures a policy after CloudFormation has resolved it, so every intrinsic is first
// replaced by a string of the length the deployed value would have (ARNs with a long region
// name and names as long as CloudFormation generates them), never by the shorter token.

export const LIMITS = {
  resources: 500,
  templateBytes: 1_000_000,
  outputs: 200,
  /** All inline policies of one role together, whitespace not counted. */
  roleInlinePolicyChars: 10_240,
  managedPolicyChars: 6_144,
  managedPoliciesPerRole: 10,
  lambdaEnvironmentBytes: 4_096,
  stateMachineDefinitionBytes: 1_048_576,
} as const;

type Json = unknown;
interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}
export interface TemplateJson {
  readonly Resources: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, Json>;
}

const PARTITION = 'aws';
// The longest region names (ap-southeast-2 and its peers) make the longest ARNs.
const REGION = 'ap-southeast-2';
const ACCOUNT = '123456789012';
/** CloudFormation's generated physical names are `<stack>-<logical id>-<suffix>`, cut to the service's maximum (64 for functions and roles). */
const generatedName = (logicalId: string, max = 64): string => `Offsite-${logicalId}-ABCDEFGHIJKL`.slice(0, max).padEnd(max, 'x');

/** What `Ref` and `Fn::GetAtt <id>.Arn` give for a resource, by type (CloudFormation's documented return values). */
function referenceOf(template: TemplateJson, logicalId: string, attribute: string | undefined): string {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`Ref/GetAtt to ${logicalId}, which is not in the template`);
  const props = resource.Properties ?? {};
  const literal = (key: string): string | undefined => (typeof props[key] === 'string' ? (props[key] as string) : undefined);
  const arn = (service: string, resourcePart: string): string => `arn:${PARTITION}:${service}:${REGION}:${ACCOUNT}:${resourcePart}`;
  switch (resource.Type) {
    case 'AWS::Lambda::Function': {
      const name = literal('FunctionName') ?? generatedName(logicalId);
      return attribute === 'Arn' ? arn('lambda', `function:${name}`) : name;
    }
    case 'AWS::StepFunctions::StateMachine': {
      const name = literal('StateMachineName') ?? generatedName(logicalId, 80);
      return attribute === 'Name' ? name : arn('states', `stateMachine:${name}`);
    }
    case 'AWS::IAM::Role': {
      const name = literal('RoleName') ?? generatedName(logicalId);
      return attribute === 'Arn' ? `arn:${PARTITION}:iam::${ACCOUNT}:role/${name}` : name;
    }
    case 'AWS::IAM::ManagedPolicy':
      return `arn:${PARTITION}:iam::${ACCOUNT}:policy/${generatedName(logicalId, 128)}`;
    case 'AWS::S3::Bucket': {
      const name = literal('BucketName') ?? generatedName(logicalId, 63).toLowerCase();
      return attribute === 'Arn' ? `arn:${PARTITION}:s3:::${name}` : attribute === 'RegionalDomainName' ? `${name}.s3.${REGION}.amazonaws.com` : name;
    }
    case 'AWS::SNS::Topic':
      return attribute === 'TopicName' ? generatedName(logicalId, 256) : arn('sns', generatedName(logicalId, 256));
    case 'AWS::KMS::Key':
      return attribute === 'Arn' ? arn('kms', 'key/12345678-1234-1234-1234-123456789012') : '12345678-1234-1234-1234-123456789012';
    case 'AWS::Logs::LogGroup': {
      const name = literal('LogGroupName') ?? generatedName(logicalId, 512);
      return attribute === 'Arn' ? arn('logs', `log-group:${name}:*`) : name;
    }
    case 'AWS::CloudWatch::Alarm': {
      const name = literal('AlarmName') ?? generatedName(logicalId, 255);
      return attribute === 'Arn' ? arn('cloudwatch', `alarm:${name}`) : name;
    }
    default:
      // Anything else: an ARN with a 64-character name, longer than most.
      return attribute === undefined ? generatedName(logicalId) : arn(resource.Type.split('::')[1]?.toLowerCase() ?? 'service', `resource/${generatedName(logicalId)}`);
  }
}

function pseudo(name: string): string | undefined {
  switch (name) {
    case 'AWS::Partition':
      return PARTITION;
    case 'AWS::Region':
      return REGION;
    case 'AWS::AccountId':
      return ACCOUNT;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return 'Offsite';
    default:
      return undefined;
  }
}

/** The value with every intrinsic function replaced by its deployed-length string. Throws on one it does not know. */
export function resolveIntrinsics(template: TemplateJson, value: Json): Json {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(template, item));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, Json>;
  const keys = Object.keys(object);
  const only = keys.length === 1 ? keys[0] : undefined;
  if (only === 'Ref') {
    const name = String(object.Ref);
    return pseudo(name) ?? referenceOf(template, name, undefined);
  }
  if (only === 'Fn::GetAtt') {
    const [logicalId, attribute] = object['Fn::GetAtt'] as [string, string];
    return referenceOf(template, logicalId, attribute);
  }
  if (only === 'Fn::Join') {
    const [separator, parts] = object['Fn::Join'] as [string, Json[]];
    return parts.map((part) => String(resolveIntrinsics(template, part))).join(separator);
  }
  if (only === 'Fn::Sub') {
    const argument = object['Fn::Sub'];
    const [text, variables] = Array.isArray(argument) ? (argument as [string, Record<string, Json>]) : [argument as string, {}];
    return text.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
      if (name in variables) return String(resolveIntrinsics(template, variables[name]));
      const [logicalId, attribute] = name.split('.') as [string, string | undefined];
      return pseudo(name) ?? referenceOf(template, logicalId, attribute);
    });
  }
  if (only === 'Fn::Select') {
    const [index, list] = object['Fn::Select'] as [number | string, Json];
    return (resolveIntrinsics(template, list) as Json[])[Number(index)];
  }
  if (only === 'Fn::Split') {
    const [separator, text] = object['Fn::Split'] as [string, Json];
    return String(resolveIntrinsics(template, text)).split(separator);
  }
  if (only?.startsWith('Fn::')) throw new Error(`resolveIntrinsics: ${only} is not handled; add it before measuring`);
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, resolveIntrinsics(template, item)]));
}

/** A policy document's size as IAM counts it: the JSON without whitespace outside strings. */
export const policyChars = (template: TemplateJson, document: Json): number => JSON.stringify(resolveIntrinsics(template, document)).length;

const refersTo = (template: TemplateJson, reference: Json, logicalId: string): boolean =>
  typeof reference === 'object' && reference !== null && (reference as { Ref?: unknown }).Ref === logicalId;

export interface RoleFigures {
  readonly role: string;
  readonly inlineChars: number;
  readonly managedPolicies: number;
}

export interface DeployFigures {
  readonly templateBytes: number;
  readonly resources: number;
  readonly outputs: number;
  readonly roles: readonly RoleFigures[];
  /** Each managed policy defined in the template, by logical id. */
  readonly managedPolicies: readonly { readonly id: string; readonly chars: number }[];
  readonly environments: readonly { readonly functionId: string; readonly bytes: number }[];
  readonly definitions: readonly { readonly stateMachineId: string; readonly bytes: number }[];
}

/** Every figure a deploy checks, measured on the template as CloudFormation would resolve it. */
export function deployFigures(template: TemplateJson): DeployFigures {
  const entries = Object.entries(template.Resources);
  const ofType = (type: string): [string, TemplateResource][] => entries.filter(([, resource]) => resource.Type === type);
  const policies = ofType('AWS::IAM::Policy');
  const managed = ofType('AWS::IAM::ManagedPolicy');
  const roles = ofType('AWS::IAM::Role').map(([roleId, role]): RoleFigures => {
    const props = role.Properties ?? {};
    const ownInline = ((props.Policies as { PolicyDocument: Json }[] | undefined) ?? []).reduce((sum, policy) => sum + policyChars(template, policy.PolicyDocument), 0);
    const attachedInline = policies
      .filter(([, policy]) => ((policy.Properties?.Roles as Json[] | undefined) ?? []).some((reference) => refersTo(template, reference, roleId)))
      .reduce((sum, [, policy]) => sum + policyChars(template, policy.Properties?.PolicyDocument), 0);
    const attachedManaged = managed.filter(([, policy]) => ((policy.Properties?.Roles as Json[] | undefined) ?? []).some((reference) => refersTo(template, reference, roleId))).length;
    return { role: roleId, inlineChars: ownInline + attachedInline, managedPolicies: ((props.ManagedPolicyArns as Json[] | undefined) ?? []).length + attachedManaged };
  });
  const environments = ofType('AWS::Lambda::Function').map(([functionId, fn]) => {
    const variables = (fn.Properties?.Environment as { Variables?: Json } | undefined)?.Variables ?? {};
    return { functionId, bytes: Buffer.byteLength(JSON.stringify(resolveIntrinsics(template, variables)), 'utf8') };
  });
  const definitions = ofType('AWS::StepFunctions::StateMachine').map(([stateMachineId, machine]) => {
    const text = String(resolveIntrinsics(template, machine.Properties?.DefinitionString ?? ''));
    const substitutions = (resolveIntrinsics(template, machine.Properties?.DefinitionSubstitutions ?? {}) ?? {}) as Record<string, Json>;
    const substituted = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (match, name: string) => (name in substitutions ? String(substitutions[name]) : match));
    return { stateMachineId, bytes: Buffer.byteLength(substituted, 'utf8') };
  });
  return {
    templateBytes: Buffer.byteLength(JSON.stringify(template), 'utf8'),
    resources: entries.length,
    outputs: Object.keys(template.Outputs ?? {}).length,
    roles,
    managedPolicies: managed.map(([id, policy]) => ({ id, chars: policyChars(template, policy.Properties?.PolicyDocument) })),
    environments,
    definitions,
  };
}

/** Each limit the figures exceed, in words naming the resource ("" when none). */
export function limitViolations(figures: DeployFigures): string[] {
  return [
    ...(figures.resources > LIMITS.resources ? [`${figures.resources} resources (CloudFormation allows ${LIMITS.resources})`] : []),
    ...(figures.templateBytes > LIMITS.templateBytes ? [`template of ${figures.templateBytes} bytes (CloudFormation allows ${LIMITS.templateBytes})`] : []),
    ...(figures.outputs > LIMITS.outputs ? [`${figures.outputs} outputs (CloudFormation allows ${LIMITS.outputs})`] : []),
    ...figures.roles.filter((role) => role.inlineChars > LIMITS.roleInlinePolicyChars).map((role) => `role ${role.role}: inline policies of ${role.inlineChars} characters (IAM allows ${LIMITS.roleInlinePolicyChars})`),
    ...figures.roles.filter((role) => role.managedPolicies > LIMITS.managedPoliciesPerRole).map((role) => `role ${role.role}: ${role.managedPolicies} managed policies (IAM allows ${LIMITS.managedPoliciesPerRole})`),
    ...figures.managedPolicies.filter((policy) => policy.chars > LIMITS.managedPolicyChars).map((policy) => `managed policy ${policy.id}: ${policy.chars} characters (IAM allows ${LIMITS.managedPolicyChars})`),
    ...figures.environments.filter((env) => env.bytes > LIMITS.lambdaEnvironmentBytes).map((env) => `function ${env.functionId}: environment of ${env.bytes} bytes (Lambda allows ${LIMITS.lambdaEnvironmentBytes})`),
    ...figures.definitions.filter((definition) => definition.bytes > LIMITS.stateMachineDefinitionBytes).map((definition) => `state machine ${definition.stateMachineId}: definition of ${definition.bytes} bytes (Step Functions allows ${LIMITS.stateMachineDefinitionBytes})`),
  ];
}

/** "338 KB, 216 resources, largest policy 2,103 chars (inline per role) / 0 (managed), largest env 410 B, 25 outputs". */
export function describeFigures(figures: DeployFigures): string {
  const largestInline = Math.max(0, ...figures.roles.map((role) => role.inlineChars));
  const largestManaged = Math.max(0, ...figures.managedPolicies.map((policy) => policy.chars));
  const mostManaged = Math.max(0, ...figures.roles.map((role) => role.managedPolicies));
  const largestEnv = Math.max(0, ...figures.environments.map((env) => env.bytes));
  const largestDefinition = Math.max(0, ...figures.definitions.map((definition) => definition.bytes));
  return (
    `${Math.round(figures.templateBytes / 1024)} KB, ${figures.resources} resources, ${figures.outputs} outputs, ` +
    `largest role inline policies ${largestInline} chars, largest managed policy ${largestManaged} chars (${figures.managedPolicies.length} managed policies, at most ${mostManaged} on a role), ` +
    `largest environment ${largestEnv} B, largest definition ${Math.round(largestDefinition / 1024)} KB`
  );
}

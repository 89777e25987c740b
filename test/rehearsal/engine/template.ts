// The synthesized CloudFormation template as the rehearsal needs it: every intrinsic
// (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split) resolved to the names and
// ARNs CloudFormation would give in one account and region, and the resources grouped as
// the rehearsal runs them — functions with their bundle, handler and environment; roles
// with every policy attached to them; state machines with their substituted definition;
// schedules; bucket policies; alarm names.
import { join } from 'node:path';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: { [key: string]: Json };
  readonly Metadata?: { [key: string]: Json };
}
export interface Template {
  readonly Resources: Record<string, TemplateResource>;
}

export interface Deployment {
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: { [key: string]: Json }[];
}

export interface RoleModel {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** Inline policies (AWS::IAM::Policy, the role's own Policies) and customer managed policies attached to it. */
  readonly policies: { readonly name: string; readonly document: PolicyDocument }[];
  /** Who may assume it (AssumeRolePolicyDocument). */
  readonly trustPolicy: PolicyDocument;
}

export interface FunctionModel {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly handler: string;
  readonly runtime: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Exactly the variables the template gives the function. */
  readonly environment: Readonly<Record<string, string>>;
  readonly role: RoleModel;
  /** The synthesized bundle (the asset directory in cdk.out). */
  readonly codeDirectory: string;
  readonly logGroupName: string;
  readonly tracing: boolean;
}

export interface StateMachineModel {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** The definition string with DefinitionSubstitutions applied, as Step Functions receives it. */
  readonly definition: string;
  readonly role: RoleModel;
}

export interface ScheduleModel {
  readonly logicalId: string;
  readonly name: string;
  readonly targetArn: string;
  readonly input: string;
  readonly role: RoleModel;
}

export interface StackModel {
  readonly deployment: Deployment;
  readonly functions: ReadonlyMap<string, FunctionModel>;
  readonly stateMachines: ReadonlyMap<string, StateMachineModel>;
  readonly schedules: readonly ScheduleModel[];
  /** Bucket name → its bucket policy. */
  readonly bucketPolicies: ReadonlyMap<string, PolicyDocument>;
  /** Bucket name → the KMS key ARN its default encryption (SSE-KMS) names. */
  readonly bucketKeys: ReadonlyMap<string, string>;
  /** KMS key ARN → its key policy (KMS allows nothing its key policy does not, whatever the caller's IAM policies say). */
  readonly keyPolicies: ReadonlyMap<string, PolicyDocument>;
  readonly alarmNames: ReadonlySet<string>;
  functionByArn(arn: string): FunctionModel | undefined;
  stateMachineByArn(arn: string): StateMachineModel | undefined;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** CloudFormation's name for a resource without an explicit one: `<stack>-<logical id>-<suffix>`, within the service's length limit. */
function generatedName(deployment: Deployment, logicalId: string, maxLength: number, lowerCase = false): string {
  const suffix = 'REHEARSAL1';
  const name = `${deployment.stackName}-${logicalId}`.slice(0, maxLength - suffix.length - 1);
  const full = `${name}-${suffix}`;
  return lowerCase ? full.toLowerCase() : full;
}

class Resolver {
  constructor(
    private readonly template: Template,
    private readonly deployment: Deployment,
  ) {}

  private resource(logicalId: string): TemplateResource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new TemplateError(`the template has no resource ${logicalId}`);
    return resource;
  }

  private property(logicalId: string, name: string): string | undefined {
    const value = this.resource(logicalId).Properties?.[name];
    return value === undefined ? undefined : this.string(value);
  }

  /** What `Ref` gives for a resource of this type. */
  ref(logicalId: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Region': this.deployment.region,
      'AWS::AccountId': this.deployment.account,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.deployment.stackName,
    };
    const known = pseudo[logicalId];
    if (known !== undefined) return known;
    const { region, account } = this.deployment;
    const resource = this.resource(logicalId);
    switch (resource.Type) {
      case 'AWS::Lambda::Function':
        return this.property(logicalId, 'FunctionName') ?? generatedName(this.deployment, logicalId, 64);
      case 'AWS::IAM::Role':
        return this.property(logicalId, 'RoleName') ?? generatedName(this.deployment, logicalId, 64);
      case 'AWS::IAM::ManagedPolicy':
        return `arn:aws:iam::${account}:policy/${this.property(logicalId, 'ManagedPolicyName') ?? generatedName(this.deployment, logicalId, 128)}`;
      case 'AWS::S3::Bucket':
        return this.property(logicalId, 'BucketName') ?? generatedName(this.deployment, logicalId, 63, true);
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${region}:${account}:stateMachine:${this.property(logicalId, 'StateMachineName') ?? generatedName(this.deployment, logicalId, 80)}`;
      case 'AWS::Logs::LogGroup':
        return this.property(logicalId, 'LogGroupName') ?? generatedName(this.deployment, logicalId, 512);
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${region}:${account}:${this.property(logicalId, 'TopicName') ?? generatedName(this.deployment, logicalId, 256)}`;
      case 'AWS::KMS::Key':
        return `rehearsal-key-${logicalId.toLowerCase()}`;
      case 'AWS::CloudWatch::Alarm':
        return this.property(logicalId, 'AlarmName') ?? generatedName(this.deployment, logicalId, 255);
      case 'AWS::Scheduler::Schedule':
        return this.property(logicalId, 'Name') ?? generatedName(this.deployment, logicalId, 64);
      default:
        return logicalId;
    }
  }

  getAtt(logicalId: string, attribute: string): string {
    const { region, account } = this.deployment;
    const type = this.resource(logicalId).Type;
    const name = this.ref(logicalId);
    const attributes: Record<string, Record<string, string>> = {
      'AWS::Lambda::Function': { Arn: `arn:aws:lambda:${region}:${account}:function:${name}` },
      'AWS::IAM::Role': { Arn: `arn:aws:iam::${account}:role/${name}`, RoleId: `AROA${logicalId.toUpperCase().slice(0, 17)}` },
      'AWS::S3::Bucket': { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com`, RegionalDomainName: `${name}.s3.${region}.amazonaws.com` },
      'AWS::StepFunctions::StateMachine': { Arn: name, Name: name.split(':').pop() ?? name },
      'AWS::Logs::LogGroup': { Arn: `arn:aws:logs:${region}:${account}:log-group:${name}:*` },
      'AWS::SNS::Topic': { TopicArn: name, TopicName: name.split(':').pop() ?? name },
      'AWS::KMS::Key': { Arn: `arn:aws:kms:${region}:${account}:key/${name}`, KeyId: name },
      'AWS::CloudWatch::Alarm': { Arn: `arn:aws:cloudwatch:${region}:${account}:alarm:${name}` },
      'AWS::Scheduler::Schedule': { Arn: `arn:aws:scheduler:${region}:${account}:schedule/default/${name}` },
    };
    const value = attributes[type]?.[attribute];
    if (value === undefined) throw new TemplateError(`Fn::GetAtt ${logicalId}.${attribute}: the rehearsal does not know attribute ${attribute} of ${type}`);
    return value;
  }

  /** Resolves every intrinsic in a value. */
  value(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const argument = value[key] as Json;
      switch (key) {
        case 'Ref':
          return this.ref(String(argument));
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = Array.isArray(argument) ? argument.map(String) : String(argument).split('.');
          return this.getAtt(String(logicalId), String(attribute));
        }
        case 'Fn::Join': {
          const [separator, parts] = argument as [string, Json[]];
          return (this.value(parts) as Json[]).map((part) => this.string(part)).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = argument as [Json, Json];
          return (this.value(list) as Json[])[Number(this.value(index))] ?? null;
        }
        case 'Fn::Split': {
          const [separator, text] = argument as [string, Json];
          return this.string(text).split(separator);
        }
        case 'Fn::Sub': {
          const [text, variables] = Array.isArray(argument) ? (argument as [string, { [key: string]: Json }]) : [String(argument), {}];
          return text.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
            if (name in variables) return this.string(variables[name] as Json);
            const [logicalId, attribute] = name.split('.');
            return attribute ? this.getAtt(String(logicalId), attribute) : this.ref(name);
          });
        }
        default:
          if (key.startsWith('Fn::') || key === 'Condition') throw new TemplateError(`the rehearsal does not resolve ${key}`);
      }
    }
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, this.value(item)]));
  }

  string(value: Json): string {
    const resolved = this.value(value);
    if (typeof resolved !== 'string' && typeof resolved !== 'number' && typeof resolved !== 'boolean') throw new TemplateError(`expected a string, got ${JSON.stringify(resolved)}`);
    return String(resolved);
  }
}

function refsOf(value: Json | undefined): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => (item && typeof item === 'object' && !Array.isArray(item) && typeof item.Ref === 'string' ? [item.Ref] : []));
}

function logicalIdOfGetAtt(value: Json | undefined, what: string): string {
  if (value && typeof value === 'object' && !Array.isArray(value) && Array.isArray(value['Fn::GetAtt'])) return String(value['Fn::GetAtt'][0]);
  throw new TemplateError(`${what} is not a Fn::GetAtt of a resource in the template: ${JSON.stringify(value)}`);
}

/** The template of one synthesized stack, resolved for the given account and region. */
export function readStack(template: Template, deployment: Deployment, cloudAssemblyDirectory: string): StackModel {
  const resolver = new Resolver(template, deployment);
  const resources = Object.entries(template.Resources);
  const ofType = (type: string): [string, TemplateResource][] => resources.filter(([, resource]) => resource.Type === type);

  const roles = new Map<string, RoleModel & { policies: { name: string; document: PolicyDocument }[] }>();
  for (const [logicalId, resource] of ofType('AWS::IAM::Role')) {
    const properties = resource.Properties ?? {};
    if (Array.isArray(properties.ManagedPolicyArns) && properties.ManagedPolicyArns.length > 0) {
      throw new TemplateError(`role ${logicalId} attaches managed policies by ARN (${JSON.stringify(resolver.value(properties.ManagedPolicyArns))}): the rehearsal cannot evaluate policies it does not have`);
    }
    const inline = Array.isArray(properties.Policies) ? (resolver.value(properties.Policies) as unknown as { PolicyName: string; PolicyDocument: PolicyDocument }[]) : [];
    roles.set(logicalId, {
      logicalId,
      name: resolver.ref(logicalId),
      arn: resolver.getAtt(logicalId, 'Arn'),
      policies: inline.map((policy) => ({ name: policy.PolicyName, document: policy.PolicyDocument })),
      trustPolicy: resolver.value(properties.AssumeRolePolicyDocument ?? { Statement: [] }) as unknown as PolicyDocument,
    });
  }
  for (const [logicalId, resource] of [...ofType('AWS::IAM::Policy'), ...ofType('AWS::IAM::ManagedPolicy')]) {
    const document = resolver.value(resource.Properties?.PolicyDocument ?? null) as unknown as PolicyDocument;
    for (const roleId of refsOf(resource.Properties?.Roles)) {
      const role = roles.get(roleId);
      if (!role) throw new TemplateError(`policy ${logicalId} is attached to ${roleId}, which is not a role in the template`);
      role.policies.push({ name: logicalId, document });
    }
  }
  const roleOf = (value: Json | undefined, what: string): RoleModel => {
    const roleId = logicalIdOfGetAtt(value, what);
    const role = roles.get(roleId);
    if (!role) throw new TemplateError(`${what} names ${roleId}, which is not a role in the template`);
    return role;
  };

  const functions = new Map<string, FunctionModel>();
  for (const [logicalId, resource] of ofType('AWS::Lambda::Function')) {
    const properties = resource.Properties ?? {};
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') throw new TemplateError(`function ${logicalId} has no aws:asset:path metadata: its bundle cannot be found in cdk.out`);
    const variables = ((properties.Environment as { Variables?: Json } | undefined)?.Variables ?? {}) as { [key: string]: Json };
    const loggingConfig = properties.LoggingConfig as { LogGroup?: Json } | undefined;
    functions.set(logicalId, {
      logicalId,
      name: resolver.ref(logicalId),
      arn: resolver.getAtt(logicalId, 'Arn'),
      handler: resolver.string(properties.Handler ?? ''),
      runtime: resolver.string(properties.Runtime ?? ''),
      memoryMb: Number(properties.MemorySize ?? 128),
      timeoutSeconds: Number(properties.Timeout ?? 3),
      environment: Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, resolver.string(value)])),
      role: roleOf(properties.Role, `function ${logicalId} Role`),
      codeDirectory: join(cloudAssemblyDirectory, assetPath),
      logGroupName: loggingConfig?.LogGroup ? resolver.string(loggingConfig.LogGroup) : `/aws/lambda/${resolver.ref(logicalId)}`,
      tracing: (properties.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active',
    });
  }

  const stateMachines = new Map<string, StateMachineModel>();
  for (const [logicalId, resource] of ofType('AWS::StepFunctions::StateMachine')) {
    const properties = resource.Properties ?? {};
    let definition = resolver.string(properties.DefinitionString ?? '');
    const substitutions = (resolver.value(properties.DefinitionSubstitutions ?? {}) ?? {}) as Record<string, string>;
    // As Step Functions applies DefinitionSubstitutions: every ${name} with a substitution is replaced.
    definition = definition.replace(/\$\{([A-Za-z0-9_]+)\}/g, (match, name: string) => substitutions[name] ?? match);
    const arn = resolver.ref(logicalId);
    stateMachines.set(logicalId, { logicalId, name: arn.split(':').pop() ?? arn, arn, definition, role: roleOf(properties.RoleArn, `state machine ${logicalId} RoleArn`) });
  }

  const schedules = ofType('AWS::Scheduler::Schedule').map(([logicalId, resource]): ScheduleModel => {
    const target = (resource.Properties?.Target ?? {}) as { [key: string]: Json };
    return {
      logicalId,
      name: resolver.ref(logicalId),
      targetArn: resolver.string(target.Arn ?? ''),
      input: target.Input === undefined ? '{}' : resolver.string(target.Input),
      role: roleOf(target.RoleArn, `schedule ${logicalId} Target.RoleArn`),
    };
  });

  const bucketPolicies = new Map<string, PolicyDocument>();
  for (const [, resource] of ofType('AWS::S3::BucketPolicy')) {
    bucketPolicies.set(resolver.string(resource.Properties?.Bucket ?? ''), resolver.value(resource.Properties?.PolicyDocument ?? null) as unknown as PolicyDocument);
  }
  const bucketKeys = new Map<string, string>();
  for (const [logicalId, resource] of ofType('AWS::S3::Bucket')) {
    const rules = (resource.Properties?.BucketEncryption as { ServerSideEncryptionConfiguration?: { ServerSideEncryptionByDefault?: { SSEAlgorithm?: Json; KMSMasterKeyID?: Json } }[] } | undefined)?.ServerSideEncryptionConfiguration ?? [];
    const kms = rules.map((rule) => rule.ServerSideEncryptionByDefault).find((byDefault) => byDefault?.SSEAlgorithm === 'aws:kms' && byDefault.KMSMasterKeyID !== undefined);
    if (kms?.KMSMasterKeyID !== undefined) bucketKeys.set(resolver.ref(logicalId), resolver.string(kms.KMSMasterKeyID));
  }
  const keyPolicies = new Map<string, PolicyDocument>();
  for (const [logicalId, resource] of ofType('AWS::KMS::Key')) {
    keyPolicies.set(resolver.getAtt(logicalId, 'Arn'), resolver.value(resource.Properties?.KeyPolicy ?? null) as unknown as PolicyDocument);
  }
  const alarmNames = new Set(ofType('AWS::CloudWatch::Alarm').map(([logicalId]) => resolver.ref(logicalId)));

  return {
    deployment,
    functions,
    stateMachines,
    schedules,
    bucketPolicies,
    bucketKeys,
    keyPolicies,
    alarmNames,
    functionByArn: (arn) => [...functions.values()].find((fn) => fn.arn === arn),
    stateMachineByArn: (arn) => [...stateMachines.values()].find((machine) => machine.arn === arn),
  };
}

// The deploy rehearsal: the sandbox's simulators and local S3 store, a configuration
// pointing at them (credentials in Secrets Manager, as deployed), the stack synthesized
// from it by the CDK app with every function bundled, and the stack run as synthesized —
// state machines from the template, functions from their bundles with the template's
// environment, every AWS call decided against the caller's role in the template.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, PutObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import type { JsonValue, LifecycleOutcome } from '../../../bin/local/local-runner';
import { localS3Client } from '../../../bin/sandbox/local-s3';
import { parseConfig } from '../../../functions/config/load';
import { secretPlacements } from '../../../lib/secret-grants';
import { SANDBOX_SECONDARY_BUCKET, startSandboxEnvironment, type SandboxEnvironment } from '../../../bin/sandbox/sandbox';
import { startAwsProxy, type AwsProxy, type Caller, type StandInSecret } from './aws-proxy';
import { describeDecision, evaluate, evaluateAssumeRole, type AccessDecision } from './iam';
import { LambdaPool, type FunctionIdentity } from './lambda-pool';
import { MachineRunner } from './machines';
import { readStack, type FunctionModel, type PolicyDocument, type ScheduleModel, type StackModel, type Template } from './template';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
const REPO_ROOT = join(__dirname, '..', '..', '..');
const LOCKED_BUCKET = 'offsite-rehearsal-locked';
/**
 * The unlocked stack's secondary: a bucket in this account reached with the functions' own
 * roles (no endpoint, no access key), under a key of its own that the stack does not create.
 */
export const SECONDARY = { bucket: SANDBOX_SECONDARY_BUCKET, prefix: 'copies/', keyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/5ec0da12-0000-4000-8000-5ec0da125ec0` } as const;
/** The secondary key's policy as AWS writes a new key's default: the account may use it through IAM policies. */
const SECONDARY_KEY_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

export interface RehearsalRun {
  readonly outcome: LifecycleOutcome | { readonly succeeded: boolean; readonly output?: unknown; readonly error?: string; readonly cause?: string };
  /** Every denied call and every finding of the run, one line each; empty when the stack did what the run needed. */
  readonly problems: readonly string[];
  readonly decisions: readonly AccessDecision[];
}

export interface StackUnderRehearsal {
  readonly model: StackModel;
  readonly template: Template;
  /** Starts the state machine whose name ends with the suffix (e.g. "netbox-cloud-backup"). */
  run(machineSuffix: string, input: JsonValue): Promise<RehearsalRun>;
  /** Fires the schedule whose name contains the text, as EventBridge Scheduler would. */
  fire(scheduleText: string): Promise<RehearsalRun>;
  /** Checks what the Lambda and Step Functions services do with the roles on every run (assume them, write logs and traces). */
  platformProblems(): Promise<string[]>;
  /** The last log lines of the functions whose logical id starts with the text (to see why a run failed). */
  logsOf(logicalIdPrefix: string): string[];
}

export interface Rehearsal {
  readonly sandbox: SandboxEnvironment;
  /**
   * The sandbox's targets on a bucket without Object Lock, encrypted with a KMS key the
   * stack creates (archive.kms "create"): every object read and write is also decided as
   * the KMS actions S3 asks for on the caller's behalf (kmsChecks in aws-proxy.ts).
   */
  readonly unlocked: StackUnderRehearsal;
  /** The same targets on a bucket with Object Lock (GOVERNANCE, 1 day), in moto's S3, which enforces it. */
  readonly locked: StackUnderRehearsal;
  readonly synthSeconds: number;
  /** Every authorization decision so far. */
  decisions(): readonly AccessDecision[];
  /** The unlocked stack with its template changed in memory (same bundles, same sandbox). */
  variant(mutate: (template: Template) => void): Promise<StackUnderRehearsal>;
  stop(): Promise<void>;
}

/** Every `{ "env": NAME }` credential of the sandbox's configuration as a Secrets Manager secret, as a deployment must have it. */
function credentialsAsSecrets(value: unknown, env: Readonly<Record<string, string>>, secrets: Map<string, StandInSecret>): unknown {
  if (Array.isArray(value)) return value.map((item) => credentialsAsSecrets(item, env, secrets));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]?.[0] === 'env' && typeof entries[0][1] === 'string') {
    const variable = entries[0][1];
    const name = `offsite/rehearsal/${variable.toLowerCase().replace(/_/g, '-')}`;
    const secretValue = env[variable];
    if (secretValue === undefined) throw new Error(`The sandbox sets no ${variable}`);
    secrets.set(name, { name, arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-Rh3a1s`, value: secretValue });
    return { secret: name };
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, credentialsAsSecrets(item, env, secrets)]));
}

/**
 * Moves each secret to the name its readers are granted (lib/secret-grants.ts: a kind's
 * under `<prefix><kind>/`, a drill's own tokens under `<prefix>drill/`, a drill
 * destination's under `<prefix><kind>/drill/`), as an operator following the docs names them.
 */
function placeSecrets(config: Record<string, unknown> & { targets: unknown[] }, secrets: Map<string, StandInSecret>): void {
  const placed = new Map<string, StandInSecret>();
  for (const placement of secretPlacements(parseConfig(config, 'the rehearsal configuration'))) {
    const source = secrets.get(placement.secret);
    if (!source) throw new Error(`${placement.target}: ${placement.field} names ${placement.secret}, which the rehearsal did not create`);
    const name = `${placement.expectedPrefix}${placement.target}-${placement.field.replace(/\.secret$/, '').replace(/\./g, '-')}`;
    placed.set(name, { name, arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-Rh3a1s`, value: source.value });
    const target = config.targets.find((candidate) => (candidate as { name?: unknown }).name === placement.target) as Record<string, unknown>;
    const path = placement.field.split('.');
    const holder = path.slice(0, -1).reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, target);
    holder[path.at(-1) as string] = name;
  }
  secrets.clear();
  for (const [name, secret] of placed) secrets.set(name, secret);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** moto's S3 server (on the image: python3 -m moto.server), which enforces Object Lock as S3 does. */
async function startMoto(): Promise<{ endpoint: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto.server exited (${child.exitCode}): ${stderr}`);
    const up = await fetch(`${endpoint}/moto-api/`).then(
      (answer) => answer.ok,
      () => false,
    );
    if (up) return { endpoint, process: child };
    if (Date.now() > deadline) throw new Error(`moto.server did not answer on ${endpoint} within 60 s: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function synthesize(outdir: string, stacks: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'synth-app.ts'), outdir, ...Object.entries(stacks).map(([name, path]) => `${name}=${path}`)], {
    cwd: REPO_ROOT,
    env: { ...process.env, CDK_DEFAULT_ACCOUNT: ACCOUNT, CDK_DEFAULT_REGION: REGION },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`synth failed (exit ${code}):\n${output.slice(-6000)}`);
}

/** The file assets of a stack (the configuration object), uploaded where the functions read them: the CDK assets bucket. */
async function publishFileAssets(outdir: string, stackName: string, store: S3Client): Promise<void> {
  const manifest = JSON.parse(await readFile(join(outdir, `${stackName}.assets.json`), 'utf8')) as {
    files?: Record<string, { source: { path: string; packaging?: string }; destinations: Record<string, { bucketName: string; objectKey: string }> }>;
  };
  for (const asset of Object.values(manifest.files ?? {})) {
    if (asset.source.packaging === 'zip' || asset.source.path.endsWith('.json') === false) continue;
    for (const destination of Object.values(asset.destinations)) {
      const bucket = destination.bucketName.replace('${AWS::AccountId}', ACCOUNT).replace('${AWS::Region}', REGION);
      await store.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
      await store.send(new PutObjectCommand({ Bucket: bucket, Key: destination.objectKey, Body: await readFile(join(outdir, asset.source.path)) }));
    }
  }
}

export async function startRehearsal(): Promise<Rehearsal> {
  const directory = await mkdtemp(join(tmpdir(), 'offsite-rehearsal-'));
  const sandbox = await startSandboxEnvironment({ poll: { initialSeconds: 1, maxSeconds: 2, timeoutMinutes: 2 } });
  const moto = await startMoto();
  const callers = new Map<string, Caller>();
  const secrets = new Map<string, StandInSecret>();
  const models: StackModel[] = [];
  const proxy: AwsProxy = await startAwsProxy({
    account: ACCOUNT,
    region: REGION,
    callerOf: (accessKeyId) => callers.get(accessKeyId),
    secretFor: (secretId) => [...secrets.values()].find((secret) => secret.name === secretId || secret.arn === secretId),
    storeFor: (bucket) =>
      bucket === LOCKED_BUCKET
        ? { endpoint: moto.endpoint, keepSignature: true }
        : { endpoint: bucket === SECONDARY.bucket && sandbox.secondaryS3 ? sandbox.secondaryS3.endpoint : sandbox.s3.endpoint, keepSignature: false },
    bucketPolicyFor: (bucket) => models.map((model) => model.bucketPolicies.get(bucket)).find((policy) => policy !== undefined),
    bucketKeyFor: (bucket) => (bucket === SECONDARY.bucket ? SECONDARY.keyArn : models.map((model) => model.bucketKeys.get(bucket)).find((key) => key !== undefined)),
    keyPolicyFor: (keyArn) => (keyArn === SECONDARY.keyArn ? SECONDARY_KEY_POLICY : models.map((model) => model.keyPolicies.get(keyArn)).find((policy) => policy !== undefined)),
    alarmExists: (name) => models.some((model) => model.alarmNames.has(name)),
  });
  const pool = new LambdaPool({ region: REGION, awsEndpoint: proxy.endpoint });
  const cleanUp = async (): Promise<void> => {
    await pool.stop();
    await proxy.stop();
    moto.process.kill('SIGTERM');
    await sandbox.stop();
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const sandboxConfig = JSON.parse(await readFile(sandbox.configPath, 'utf8')) as { archive: Record<string, unknown>; targets: unknown[] } & Record<string, unknown>;
    // As deployed: no archive.endpoint. The functions reach S3 through AWS_ENDPOINT_URL, with the SDK's own defaults (checksums included).
    const archive = { bucket: sandboxConfig.archive.bucket, prefix: sandboxConfig.archive.prefix, region: REGION };
    const deployed = { ...sandboxConfig, archive, targets: credentialsAsSecrets(sandboxConfig.targets, sandbox.env, secrets) as unknown[] };
    placeSecrets(deployed, secrets);
    const { targets } = deployed;
    const unlockedPath = join(directory, 'offsite.config.json');
    const lockedPath = join(directory, 'offsite.locked.config.json');
    const secondary = { bucket: SECONDARY.bucket, prefix: SECONDARY.prefix, region: REGION, kmsKeyArn: SECONDARY.keyArn };
    await writeFile(unlockedPath, JSON.stringify({ ...sandboxConfig, archive: { ...archive, kms: 'create', secondary }, targets }, null, 2));
    await writeFile(lockedPath, JSON.stringify({ ...sandboxConfig, archive: { ...archive, bucket: LOCKED_BUCKET, objectLock: { mode: 'GOVERNANCE', days: 1 } }, targets }, null, 2));

    const outdir = join(directory, 'cdk.out');
    const started = Date.now();
    await synthesize(outdir, { Offsite: unlockedPath, OffsiteLocked: lockedPath });
    const synthSeconds = (Date.now() - started) / 1000;

    const localStore = localS3Client(sandbox.s3);
    const motoStore = new S3Client({ endpoint: moto.endpoint, region: REGION, forcePathStyle: true, credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' } });
    await motoStore.send(new CreateBucketCommand({ Bucket: LOCKED_BUCKET, ObjectLockEnabledForBucket: true, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    await motoStore.send(new PutObjectLockConfigurationCommand({ Bucket: LOCKED_BUCKET, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));

    let variants = 0;
    const underRehearsal = async (stackName: string, template: Template, keyPrefix: string): Promise<StackUnderRehearsal> => {
      const model = readStack(template, { stackName, account: ACCOUNT, region: REGION }, outdir);
      models.push(model);
      const identities = new Map<string, FunctionIdentity>();
      let index = 0;
      for (const fn of model.functions.values()) {
        const accessKeyId = `ASIA${keyPrefix}${String(index++).padStart(4, '0')}`;
        identities.set(fn.arn, { accessKeyId });
        callers.set(accessKeyId, { caller: fn.logicalId, role: fn.role });
      }
      const identityOf = (fn: FunctionModel): FunctionIdentity => identities.get(fn.arn) ?? { accessKeyId: 'unknown' };
      const runner = new MachineRunner({ stack: model, pool, identityOf, decisions: proxy.decisions, findings: proxy.findings });
      const observe = async (act: () => Promise<RehearsalRun['outcome']>): Promise<RehearsalRun> => {
        const [decisionsBefore, findingsBefore] = [proxy.decisions.length, proxy.findings.length];
        const outcome = await act();
        const decisions = proxy.decisions.slice(decisionsBefore);
        const problems = [
          ...decisions.filter((decision) => !decision.allowed).map((decision) => `denied: ${describeDecision(decision)}`),
          ...proxy.findings.slice(findingsBefore).map((finding) => `${finding.caller}: ${finding.problem}`),
        ];
        return { outcome, problems: [...new Set(problems)], decisions };
      };
      return {
        model,
        template,
        run: (machineSuffix, input) =>
          observe(async () => {
            const machine = [...model.stateMachines.values()].find((candidate) => candidate.name.endsWith(machineSuffix));
            if (!machine) throw new Error(`${stackName} has no state machine named …${machineSuffix} (it has ${[...model.stateMachines.values()].map((candidate) => candidate.name).join(', ')})`);
            return runner.start(machine, input);
          }),
        fire: (scheduleText) =>
          observe(async () => {
            const schedule: ScheduleModel | undefined = model.schedules.find((candidate) => candidate.name.includes(scheduleText));
            if (!schedule) throw new Error(`${stackName} has no schedule named like ${scheduleText} (it has ${model.schedules.map((candidate) => candidate.name).join(', ')})`);
            return (await runner.fire(schedule)).outcome;
          }),
        logsOf: (logicalIdPrefix) =>
          [...model.functions.values()].filter((fn) => fn.logicalId.startsWith(logicalIdPrefix)).flatMap((fn) => pool.logsOf(fn).map((line) => `${fn.logicalId}: ${line}`)),
        async platformProblems() {
          const problems: string[] = [];
          const check = async (caller: string, role: FunctionModel['role'], action: string, resource: string): Promise<void> => {
            const decision = await evaluate({ caller, role, action, resource }, ACCOUNT);
            if (!decision.allowed) problems.push(`denied: ${describeDecision(decision)}`);
          };
          const assume = async (service: string, role: FunctionModel['role'], context: Record<string, string> = {}): Promise<void> => {
            const decision = await evaluateAssumeRole(service, role, context, ACCOUNT);
            if (!decision.allowed) problems.push(`denied: ${service} may not assume ${role.name}: ${decision.result}`);
          };
          for (const fn of model.functions.values()) await assume('lambda.amazonaws.com', fn.role);
          // Step Functions assumes a machine's role naming the account and the machine.
          for (const machine of model.stateMachines.values()) await assume('states.amazonaws.com', machine.role, { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': machine.arn });
          for (const fn of model.functions.values()) {
            const stream = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${fn.logGroupName}:log-stream:rehearsal`;
            await check(`Lambda for ${fn.logicalId}`, fn.role, 'logs:CreateLogStream', stream);
            await check(`Lambda for ${fn.logicalId}`, fn.role, 'logs:PutLogEvents', stream);
            if (fn.tracing) await check(`Lambda for ${fn.logicalId}`, fn.role, 'xray:PutTraceSegments', '*');
          }
          for (const machine of model.stateMachines.values()) {
            for (const action of ['logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets']) {
              await check(`Step Functions for ${machine.name}`, machine.role, action, '*');
            }
          }
          return problems;
        },
      };
    };

    const templateOf = async (stackName: string): Promise<Template> => JSON.parse(await readFile(join(outdir, `${stackName}.template.json`), 'utf8')) as Template;
    await publishFileAssets(outdir, 'Offsite', localStore);
    await publishFileAssets(outdir, 'OffsiteLocked', localStore);
    const unlocked = await underRehearsal('Offsite', await templateOf('Offsite'), 'U');
    const locked = await underRehearsal('OffsiteLocked', await templateOf('OffsiteLocked'), 'L');
    const pristine = JSON.stringify(unlocked.template);
    return {
      sandbox,
      unlocked,
      locked,
      synthSeconds,
      decisions: () => proxy.decisions,
      variant(mutate) {
        const template = JSON.parse(pristine) as Template;
        mutate(template);
        return underRehearsal('Offsite', template, `V${++variants}`);
      },
      stop: cleanUp,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

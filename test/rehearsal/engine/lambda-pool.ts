// The functions of the synthesized stack, each run from its bundle in Node processes of
// its own (lambda-runtime.cjs), started on the first invoke and kept warm as Lambda keeps
// an execution environment; a second concurrent invoke gets a second process, as Lambda
// scales out. The environment is the template's plus what Lambda sets, nothing else.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { FunctionModel } from './template';

/** A function's error as Step Functions receives it: the handler's error type and message. */
export class FunctionError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = errorType;
  }
}

export interface FunctionIdentity {
  /** The access key the function's process signs with (the AWS endpoint attributes calls by it). */
  readonly accessKeyId: string;
}

export interface LambdaPoolOptions {
  readonly region: string;
  /** AWS_ENDPOINT_URL: where every SDK client in the function sends its calls. */
  readonly awsEndpoint: string;
}

interface Instance {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  busy: boolean;
}

const RUNTIME = join(__dirname, 'lambda-runtime.cjs');
const MAX_LOG_LINES = 400;

/** What Lambda's Node.js runtime sets in every execution environment (reserved: a function cannot override them). */
export function lambdaEnvironment(fn: FunctionModel, identity: FunctionIdentity, options: LambdaPoolOptions): Record<string, string> {
  return {
    ...fn.environment,
    _HANDLER: fn.handler,
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: `2026/01/01/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001',
    AWS_ACCESS_KEY_ID: identity.accessKeyId,
    AWS_SECRET_ACCESS_KEY: 'rehearsal-secret-access-key',
    AWS_SESSION_TOKEN: 'rehearsal-session-token',
    LAMBDA_TASK_ROOT: fn.codeDirectory,
    LAMBDA_RUNTIME_DIR: '/var/runtime',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    PATH: '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin',
    LD_LIBRARY_PATH: '/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib',
    NODE_PATH: '/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task',
    ...(fn.tracing ? { AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR', AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000', _AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129', _AWS_XRAY_DAEMON_PORT: '2000' } : {}),
    // Not Lambda's: the rehearsal's interception of every AWS call.
    AWS_ENDPOINT_URL: options.awsEndpoint,
  };
}

export class LambdaPool {
  private readonly instances = new Map<string, Instance[]>();
  private readonly logs = new Map<string, string[]>();
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(private readonly options: LambdaPoolOptions) {}

  /** The function's output lines so far (its logs, as CloudWatch Logs would hold them). */
  logsOf(fn: FunctionModel): readonly string[] {
    return this.logs.get(this.logKey(fn)) ?? [];
  }

  private logKey(fn: FunctionModel): string {
    return fn.arn;
  }

  private log(key: string, text: string): void {
    const lines = this.logs.get(key) ?? [];
    lines.push(...text.split('\n').filter((line) => line.length > 0));
    this.logs.set(key, lines.slice(-MAX_LOG_LINES));
  }

  private start(key: string, fn: FunctionModel, identity: FunctionIdentity): Instance {
    // Lambda's Node.js bootstrap sizes the heap from the function's memory.
    const child = fork(RUNTIME, [], {
      cwd: fn.codeDirectory,
      env: lambdaEnvironment(fn, identity, this.options),
      execArgv: [`--max-old-space-size=${Math.floor(fn.memoryMb * 0.9)}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const logKey = this.logKey(fn);
    child.stdout?.on('data', (chunk: Buffer) => this.log(logKey, chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => this.log(logKey, chunk.toString('utf8')));
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new FunctionError('Runtime.ExitError', `${fn.name}: the runtime exited with ${code} before it was ready`)));
    });
    ready.catch(() => undefined);
    child.on('message', (message: { id?: number; result?: string; error?: { errorType: string; errorMessage: string }; crash?: { errorType: string; errorMessage: string } }) => {
      if (message.crash) this.log(logKey, `runtime crashed: ${message.crash.errorType}: ${message.crash.errorMessage}`);
      if (message.id === undefined) return;
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.error) waiting.reject(new FunctionError(message.error.errorType, message.error.errorMessage));
      else waiting.resolve(JSON.parse(message.result ?? 'null'));
    });
    child.on('exit', () => {
      const list = this.instances.get(key) ?? [];
      this.instances.set(
        key,
        list.filter((instance) => instance.child !== child),
      );
    });
    const instance: Instance = { child, ready, busy: false };
    this.instances.set(key, [...(this.instances.get(key) ?? []), instance]);
    return instance;
  }

  /** Invokes the function with the event, as Step Functions' Lambda integration does; throws FunctionError when it fails. */
  async invoke(fn: FunctionModel, identity: FunctionIdentity, event: unknown): Promise<unknown> {
    const key = fn.arn + fn.environment.OFFSITE_CONFIG_OBJECT + identity.accessKeyId;
    const instance = (this.instances.get(key) ?? []).find((candidate) => !candidate.busy) ?? this.start(key, fn, identity);
    instance.busy = true;
    try {
      await instance.ready;
      const id = this.nextId++;
      let cleanUp = (): void => undefined;
      const answer = new Promise<unknown>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        const timer = setTimeout(() => {
          this.pending.delete(id);
          instance.child.kill('SIGKILL');
          reject(new FunctionError('Sandbox.Timedout', `${fn.name}: Task timed out after ${fn.timeoutSeconds}.00 seconds`));
        }, fn.timeoutSeconds * 1000);
        const onExit = (code: number | null): void => {
          if (!this.pending.delete(id)) return;
          reject(new FunctionError('Runtime.ExitError', `${fn.name}: the runtime exited with ${code} during the invocation. Last log lines:\n${this.logsOf(fn).slice(-10).join('\n')}`));
        };
        instance.child.once('exit', onExit);
        cleanUp = () => {
          clearTimeout(timer);
          instance.child.off('exit', onExit);
        };
      });
      instance.child.send({ id, event: JSON.parse(JSON.stringify(event ?? null)), timeoutMs: fn.timeoutSeconds * 1000, functionArn: fn.arn });
      try {
        return await answer;
      } finally {
        cleanUp();
      }
    } finally {
      instance.busy = false;
    }
  }

  /** How many function processes have been started and are still running. */
  get running(): number {
    return [...this.instances.values()].reduce((sum, list) => sum + list.length, 0);
  }

  async stop(): Promise<void> {
    const children = [...this.instances.values()].flat().map((instance) => instance.child);
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    this.instances.clear();
  }
}

// The `offsite` command as a user runs it: a child process of bin/offsite.cjs, from the
// repository root, with the environment a user's shell has (what the test setup sets to
// quieten the functions and the SDK removed, so the CLI's own defaults apply) plus `env`.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../bin/local/repo-root';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a user's shell (no POWERTOOLS_LOG_LEVEL, no SDK warning switch; test/support/polyfills.ts sets both), plus `env`. */
export function userEnvironment(env: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const { POWERTOOLS_LOG_LEVEL: _level, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _quietened, ...inherited } = process.env;
  return { ...inherited, ...env };
}

/** Starts `offsite <args>`; the caller reads its streams and ends it. */
export function spawnOffsite(args: readonly string[], env: Readonly<Record<string, string>> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [join(REPO_ROOT, 'bin', 'offsite.cjs'), ...args], { cwd: REPO_ROOT, env: userEnvironment(env), stdio: 'pipe' });
}

/** Runs `offsite <args>` to its end (killed after `timeoutMs`) and returns its exit code and output. */
export function runOffsite(args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs = 90_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnOffsite(args, env);
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

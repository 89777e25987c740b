// A real NetBox 4.5.10 with netbox-proxbox 0.0.24, from ../shared/netbox-kit (see its README):
// started once per test file, seeded through NetBox's own REST API, always stopped.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../bin/local/repo-root';

const run = promisify(execFile);

/** The kit's script: NETBOX_KIT when set, else the shared folder beside the checkout. */
export const NETBOX_KIT = process.env.NETBOX_KIT ?? join(REPO_ROOT, '..', 'shared', 'netbox-kit', 'netbox-kit');

export interface RunningNetbox {
  readonly url: string;
  /** A v1 token as NetBox 4.5 generates it (40 letters and digits). */
  readonly tokenV1: string;
  /** A v1 token given as 40 hex. */
  readonly tokenV1Hex: string;
  /** A v2 token, `nbt_<key>.<token>`. */
  readonly tokenV2: string;
  readonly version: string;
  readonly envFile: string;
  /** How long `start` took, in seconds. */
  readonly startSeconds: number;
}

function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** `netbox-kit start`; the caller stops it with stopNetbox(envFile) in afterAll, also after a failed start. */
export async function startNetbox(envFile: string, options: { maxPageSize?: number } = {}): Promise<RunningNetbox> {
  if (!existsSync(NETBOX_KIT)) throw new Error(`The real-NetBox suites need the netbox kit at ${NETBOX_KIT} (or NETBOX_KIT=<path to its netbox-kit script>).`);
  const started = Date.now();
  const args = ['start', '--env-file', envFile, ...(options.maxPageSize !== undefined ? ['--max-page-size', String(options.maxPageSize)] : [])];
  await run(NETBOX_KIT, args, { timeout: 300_000 });
  const env = parseEnv(await readFile(envFile, 'utf8'));
  const field = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`netbox-kit wrote no ${name} into ${envFile}`);
    return value;
  };
  return {
    url: field('NETBOX_URL'),
    tokenV1: field('NETBOX_TOKEN_V1'),
    tokenV1Hex: field('NETBOX_TOKEN_V1_HEX'),
    tokenV2: field('NETBOX_TOKEN_V2'),
    version: field('NETBOX_VERSION'),
    envFile,
    startSeconds: (Date.now() - started) / 1000,
  };
}

export async function stopNetbox(envFile: string): Promise<void> {
  if (!existsSync(envFile)) return;
  await run(NETBOX_KIT, ['stop', '--env-file', envFile], { timeout: 60_000 });
}

/** NetBox's ORM, for what its REST API refuses (a routine on `all`): one Django boot, 11-17 s. */
export async function nbshell(envFile: string, python: string): Promise<string> {
  const { stdout } = await run(NETBOX_KIT, ['manage', '--env-file', envFile, '--', 'nbshell', '-c', python], { timeout: 120_000 });
  return stdout;
}

/** Seeding through NetBox's own REST API with the v1 token. */
export class NetboxSeeder {
  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  async post(path: string, body: Record<string, unknown>): Promise<number> {
    const response = await fetch(`${this.url}/api/${path}`, {
      method: 'POST',
      headers: { authorization: `Token ${this.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`POST /api/${path} ${JSON.stringify(body)} answered HTTP ${response.status}: ${text.slice(0, 500)}`);
    const { id } = JSON.parse(text) as { id?: unknown };
    if (typeof id !== 'number') throw new Error(`POST /api/${path} answered without an id: ${text.slice(0, 300)}`);
    return id;
  }
}

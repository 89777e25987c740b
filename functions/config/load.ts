import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidInput } from '../shared/errors';
import { configSchema, type OffsiteConfig, type TargetConfig } from './schema';

export const DEFAULT_CONFIG_FILE = 'offsite.config.json';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`))
    .join('');
}

function describeValue(input: unknown, path: readonly PropertyKey[]): string {
  let value: unknown = input;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  if (value === undefined) return ' (missing)';
  if (typeof value === 'object') return '';
  return ` (got ${JSON.stringify(value)})`;
}

/** Validates raw configuration; the error names every bad field, its value and what was expected. */
export function parseConfig(raw: unknown, source: string): OffsiteConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const field = formatPath(issue.path) || '(top level)';
    const extra =
      issue.code === 'unrecognized_keys' ? `: unknown field(s) ${issue.keys.map((key) => `"${key}"`).join(', ')}` : '';
    return `  ${field}: ${issue.message}${extra}${issue.code === 'unrecognized_keys' ? '' : describeValue(raw, issue.path)}`;
  });
  throw new ConfigError(`Invalid configuration in ${source}:\n${lines.join('\n')}`);
}

export function resolveConfigPath(explicit?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, explicit ?? env.OFFSITE_CONFIG ?? DEFAULT_CONFIG_FILE);
}

export function loadConfigFile(path: string): OffsiteConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `No configuration file at ${path}. Create offsite.config.json (see README "Configuration"), or pass --config / set OFFSITE_CONFIG.`
        : `Cannot read configuration file ${path}: ${(error as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Configuration file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(raw, path);
}

export function findTarget(config: OffsiteConfig, name: string): TargetConfig {
  const target = config.targets.find((candidate) => candidate.name === name);
  if (!target) {
    const known = config.targets.map((candidate) => candidate.name).join(', ');
    throw new InvalidInput(`Unknown target "${name}". Configured targets: ${known}.`);
  }
  return target;
}

export function findTargetOfKind<K extends TargetConfig['kind']>(
  config: OffsiteConfig,
  name: string,
  kind: K,
): Extract<TargetConfig, { kind: K }> {
  const target = findTarget(config, name);
  if (target.kind !== kind) {
    throw new InvalidInput(`Target "${name}" is of kind "${target.kind}", not "${kind}".`);
  }
  return target as Extract<TargetConfig, { kind: K }>;
}

import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { loadConfigFile, parseConfig, resolveConfigPath } from '../config/load';
import type { OffsiteConfig } from '../config/schema';

/** Set by the stack: the SSM parameter that holds the validated configuration JSON. */
export const CONFIG_PARAMETER_ENV = 'OFFSITE_CONFIG_PARAMETER';

let fileConfig: { path: string; config: OffsiteConfig } | undefined;

/**
 * The configuration a handler runs with: in AWS the copy the stack stored in SSM at
 * deploy time (cached by Powertools for five minutes); locally the file named by
 * OFFSITE_CONFIG or ./offsite.config.json, the same file `cdk synth` reads.
 */
export async function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): Promise<OffsiteConfig> {
  const parameterName = env[CONFIG_PARAMETER_ENV];
  if (parameterName) {
    const raw = await getParameter(parameterName, { maxAge: 300 });
    if (raw === undefined) throw new Error(`SSM parameter ${parameterName} is empty`);
    return parseConfig(JSON.parse(raw), `SSM parameter ${parameterName}`);
  }
  const path = resolveConfigPath(undefined, env);
  if (fileConfig?.path !== path) fileConfig = { path, config: loadConfigFile(path) };
  return fileConfig.config;
}

/** Drops the cached file configuration (the CLI and tests switch configurations). */
export function forgetRuntimeConfig(): void {
  fileConfig = undefined;
}

import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { loadConfigFile, parseConfig, resolveConfigPath } from '../config/load';
import type { OffsiteConfig } from '../config/schema';

/**
 * Set by the stack: `s3://<bucket>/<key>` of the configuration object it deploys (a CDK
 * asset: the validated configuration as JSON, named by its content hash). The stack also
 * defines it in lib/offsite-function.ts; the infrastructure test checks they agree.
 */
export const CONFIG_OBJECT_ENV = 'OFFSITE_CONFIG_OBJECT';

let fileConfig: { path: string; config: OffsiteConfig } | undefined;
let objectConfig: { location: string; config: Promise<OffsiteConfig> } | undefined;

function parseLocation(location: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (!match?.[1] || !match[2]) throw new Error(`${CONFIG_OBJECT_ENV} must be s3://<bucket>/<key>, got ${JSON.stringify(location)}`);
  return { bucket: match[1], key: match[2] };
}

async function readObject(location: string, env: NodeJS.ProcessEnv): Promise<OffsiteConfig> {
  const { bucket, key } = parseLocation(location);
  let text: string;
  try {
    const answer = await new S3Client({ ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}) }).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await answer.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    throw new Error(`Cannot read the configuration object ${location}: ${(error as Error).name}: ${(error as Error).message}`);
  }
  return parseConfig(JSON.parse(text), `configuration object ${location}`);
}

/**
 * The configuration a handler runs with: in AWS the object the stack deployed, read once
 * per cold start and kept (its key is its content hash, so a new configuration is a new
 * key in the environment, which Lambda only gives to new execution environments); locally
 * the file named by OFFSITE_CONFIG or ./offsite.config.json, the same file `cdk synth` reads.
 */
export async function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): Promise<OffsiteConfig> {
  const location = env[CONFIG_OBJECT_ENV];
  if (location) {
    if (objectConfig?.location !== location) {
      const config = readObject(location, env);
      // A failed read (throttled, network) must not stick for the life of the environment.
      config.catch(() => {
        if (objectConfig?.config === config) objectConfig = undefined;
      });
      objectConfig = { location, config };
    }
    return objectConfig.config;
  }
  const path = resolveConfigPath(undefined, env);
  if (fileConfig?.path !== path) fileConfig = { path, config: loadConfigFile(path) };
  return fileConfig.config;
}

/** Drops the cached configuration (the CLI and tests switch configurations). */
export function forgetRuntimeConfig(): void {
  fileConfig = undefined;
  objectConfig = undefined;
}

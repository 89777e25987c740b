#!/usr/bin/env node
// The CDK app (`npx tsx bin/app.ts`, see cdk.json): one OffsiteStack from the same
// configuration file the CLI reads, checked with cdk-nag's AWS Solutions rules.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfigFile, resolveConfigPath } from '../functions/config/load';
import { DEFAULT_STACK_NAME, type OffsiteConfig } from '../functions/config/schema';
import { OffsiteStack } from '../lib/offsite-stack';

const EXAMPLE_CONFIG = resolve(__dirname, '..', 'offsite.config.example.json');

function loadDeployConfig(): OffsiteConfig {
  const path = resolveConfigPath();
  // An explicit OFFSITE_CONFIG that does not exist is an error, never a reason to fall back.
  if (process.env.OFFSITE_CONFIG || existsSync(path)) return loadConfigFile(path);
  const rule = '!'.repeat(78);
  console.error(
    [
      rule,
      `!!  WARNING: no ${path}.`,
      '!!  Synthesizing the EXAMPLE configuration (offsite.config.example.json):',
      '!!  bucket "acme-offsite", example targets, network ids and alarm address. Do NOT deploy this.',
      '!!  Create offsite.config.json or set OFFSITE_CONFIG to your configuration.',
      rule,
    ].join('\n'),
  );
  return loadConfigFile(EXAMPLE_CONFIG);
}

function main(): void {
  let config: OffsiteConfig;
  try {
    config = loadDeployConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  // The stack creates the archive bucket, so it must live in archive.region (the region
  // the functions' S3 client uses). Not CDK_DEFAULT_REGION first: the CDK CLI always sets
  // that variable (to us-east-1 when nothing is configured), so a "fallback" to the
  // configured region would never happen and the bucket would land in the wrong region.
  const region = config.archive.region;
  const profileRegion = process.env.CDK_DEFAULT_REGION;
  if (profileRegion && profileRegion !== region) {
    console.error(`offsite: deploying to ${region} (archive.region), not to your default region ${profileRegion}.`);
  }
  const app = new App();
  new OffsiteStack(app, config.stackName ?? DEFAULT_STACK_NAME, {
    config,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region },
  });
  // cdk-nag 3 is a policy-validation plugin (not an Aspect): unacknowledged findings
  // fail `cdk synth` with a report; acknowledgements live next to the resources in lib/.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  app.synth();
}

main();

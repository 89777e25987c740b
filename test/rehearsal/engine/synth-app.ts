// The CDK app of the rehearsal, run in a child process (`tsx synth-app.ts <outdir>
// <stack>=<config> ...`): what bin/app.ts does for one configuration — the stack, checked
// with cdk-nag's AWS Solutions rules — for several configurations in one app, so every
// function is bundled by esbuild once (CDK reuses a staged asset across stacks).
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfigFile } from '../../../functions/config/load';
import { OffsiteStack } from '../../../lib/offsite-stack';

const [outdir, ...stacks] = process.argv.slice(2);
if (!outdir || stacks.length === 0) throw new Error('usage: synth-app.ts <outdir> <stack name>=<configuration file> ...');
const account = process.env.CDK_DEFAULT_ACCOUNT;
if (!account) throw new Error('CDK_DEFAULT_ACCOUNT must name the account the rehearsal deploys to');
// As the CDK CLI runs an app: asset paths recorded in the template's metadata.
const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
for (const entry of stacks) {
  const [stackName, configPath] = entry.split('=');
  if (!stackName || !configPath) throw new Error(`expected <stack name>=<configuration file>, got ${entry}`);
  const config = loadConfigFile(configPath);
  new OffsiteStack(app, stackName, { config, env: { account, region: config.archive.region } });
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();

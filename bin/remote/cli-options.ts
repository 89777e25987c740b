// The remote-mode options every lifecycle command takes (backup, restore, audit, and drill
// once it exists: add withRemoteOptions to its command and pass runnerFor(...) to it).
import { Option, type Command } from 'commander';
import type { OffsiteConfig } from '../../functions/config/schema';
import { InvalidInput } from '../../functions/shared/errors';
import type { CliIo } from '../cli/commands';
import { LOCAL_RUNNER, type LifecycleRunner } from '../cli/lifecycle-runner';
import { remoteRunner, type RemoteOptions } from './remote-runner';

/** --endpoint, --stack and --region: where the deployed stack is (also taken by `executions`). */
export function withStackOptions(command: Command): Command {
  return command
    .addOption(new Option('--stack <name>', 'the deployed stack (default: "stackName" in the configuration, else Offsite)'))
    .addOption(new Option('--region <region>', 'the stack\'s region (default: archive.region)'))
    .addOption(new Option('--endpoint <url>', 'a Step Functions/CloudFormation endpoint other than AWS (the sandbox\'s local endpoint)'));
}

export function withRemoteOptions(command: Command): Command {
  return withStackOptions(command.addOption(new Option('--remote', 'start the deployed stack\'s state machine in AWS and follow it, instead of running here')));
}

/** The runner the options ask for; stack options without --remote are refused rather than ignored. */
export function runnerFor(config: OffsiteConfig, io: CliIo, options: RemoteOptions): LifecycleRunner {
  if (!options.remote) {
    const stray = (['endpoint', 'stack', 'region'] as const).find((name) => options[name] !== undefined);
    if (stray) throw new InvalidInput(`--${stray} only applies with --remote.`);
    return LOCAL_RUNNER;
  }
  if (options.endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(options.endpoint)) throw new InvalidInput(`--endpoint: expected a URL such as http://127.0.0.1:8083 (got "${options.endpoint}")`);
  return remoteRunner(config, io, options);
}

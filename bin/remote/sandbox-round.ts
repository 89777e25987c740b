// `npm start`: one restore in remote mode, through the local Step Functions endpoint, with
// the real @aws-sdk/client-sfn client — what `--remote --endpoint <url>` does.
import { findTarget } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { restoreCommand, restoreDestination, type CliIo } from '../cli/commands';
import type { Step } from '../sandbox/kinds';
import { startLocalEndpoint } from './local-endpoint';
import { remoteRunner } from './remote-runner';

export async function remoteRound(config: OffsiteConfig, io: CliIo, step: Step, target: string, to: string): Promise<void> {
  const endpoint = await startLocalEndpoint({ region: config.archive.region });
  try {
    const destination = restoreDestination(findTarget(config, target), to);
    io.out(`$ offsite restore ${target} --backup latest --to ${to} --yes --remote --endpoint ${endpoint.url}`);
    const runner = remoteRunner(config, io, { remote: true, endpoint: endpoint.url });
    const result = await restoreCommand(config, target, io, { backup: 'latest', to, confirm: destination }, runner);
    const execution = endpoint.executions().at(-1);
    step(result.exitCode === 0 && execution?.status === 'SUCCEEDED', `remote restore of ${target} through the local Step Functions endpoint: execution ${execution?.name ?? '(none)'} ${execution?.status ?? 'not started'}`);
  } finally {
    await endpoint.stop();
  }
}

import { useConfig } from '../../bin/cli/commands';
import { startLocalEndpoint, type LocalEndpoint } from '../../bin/remote/local-endpoint';
import { startSandboxEnvironment, type SandboxEnvironment } from '../../bin/sandbox/sandbox';
import { FAST_WAITS_MS, NO_RETRY_DELAY_MS } from './harness';

/**
 * The sandbox's simulators and store with a local Step Functions endpoint in front, for
 * suites that drive `--remote` (the CLI, the AWS CLI). Fast vendor durations; the endpoint
 * runs the handlers in this process, as the stack's functions would run them in AWS, so
 * the sandbox's environment is set on this process.
 */
export async function startSandboxWithEndpoint(): Promise<{ sandbox: SandboxEnvironment; endpoint: LocalEndpoint }> {
  const sandbox = await startSandboxEnvironment({
    netboxCloud: { backupRequestDurationMs: 300, retrievalDurationMs: 200, restoreDurationMs: 300, redeployDelayMs: 100 },
    appliance: { backupDurationMs: 300, rebootWindowMs: 1500 },
    poll: { initialSeconds: 1, maxSeconds: 1, timeoutMinutes: 1 },
  });
  Object.assign(process.env, sandbox.env);
  const config = useConfig(sandbox.configPath);
  const endpoint = await startLocalEndpoint({ region: config.archive.region, waitOverridesMs: FAST_WAITS_MS, retryOverridesMs: NO_RETRY_DELAY_MS });
  return { sandbox, endpoint };
}

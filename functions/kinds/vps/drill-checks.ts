// The checks after a VPS drill restore: the drill server's status, and an optional HTTP(S)
// probe that must answer 2xx within its timeout.
import { checkResult, type DrillCheckResult } from '../../drill/rules';
import type { VpsClient } from './client';
import type { VpsTarget } from './config';
import { restorePhaseOf } from './server-status';

export type ProbeFetch = (url: string, init: { signal: AbortSignal; redirect: 'manual' }) => Promise<{ status: number }>;

export async function vpsDrillChecks(target: VpsTarget, client: Pick<VpsClient, 'getServer'>, probeFetch: ProbeFetch = (url, init) => fetch(url, init)): Promise<DrillCheckResult[]> {
  const drill = target.drill;
  if (!drill) return [];
  const results: DrillCheckResult[] = [];
  try {
    const server = await client.getServer(drill.to);
    const finished = restorePhaseOf(server.status) === 'finished';
    results.push(checkResult('server status', finished, 'running', server.status, `server ${drill.to} reads "${server.status}"${server.message ? `: ${server.message}` : ''}`));
  } catch (error) {
    results.push(checkResult('server status', false, 'running', null, `server ${drill.to} could not be read: ${(error as Error).message}`));
  }
  const probe = drill.checks?.probe;
  if (probe) {
    const started = Date.now();
    try {
      // Redirects are not followed: a probe answers for the restored server, not for wherever it points.
      const answer = await probeFetch(probe.url, { signal: AbortSignal.timeout(probe.timeoutSeconds * 1000), redirect: 'manual' });
      const ms = Date.now() - started;
      const passed = answer.status >= 200 && answer.status < 300;
      results.push(checkResult('probe', passed, '2xx', answer.status, `${probe.url} answered HTTP ${answer.status} in ${ms} ms${passed ? '' : ' (expected 2xx)'}`));
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${probe.timeoutSeconds} s` : (error as Error).message;
      results.push(checkResult('probe', false, '2xx', null, `${probe.url}: ${reason}`));
    }
  }
  return results;
}

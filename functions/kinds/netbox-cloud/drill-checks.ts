// The checks after a NetBox Cloud drill restore, through the restored instance's own REST
// API (a NetBox Cloud instance answers the NetBox REST API like a self-hosted one).
import type { NetboxRestClient } from '../../netbox-rest/client';
import { checkResult, type DrillCheckResult, type DrillCopy } from '../../drill/rules';
import { allowedDifference, withinTolerance } from './drill-config';
import type { NetboxCloudTarget } from './config';

interface RestoreOutput {
  readonly backup?: { readonly backupId?: string; readonly version?: string | null };
  readonly restore?: { readonly restoreJobId?: string; readonly redeployedAt?: string | null };
}

export interface NetboxCloudDrillClients {
  readonly restored: Pick<NetboxRestClient, 'get'>;
  readonly source?: Pick<NetboxRestClient, 'get'>;
}

/**
 * `netbox-version` as /api/status/ reports it, reduced to major.minor.patch: the document
 * of the status endpoint is silent on suffixes, and NetBox Cloud builds may append one
 * (e.g. "4.2.9-cloud"), which is not a different NetBox.
 */
export function netboxRelease(version: unknown): string | null {
  if (typeof version !== 'string') return null;
  return /^v?(\d+\.\d+\.\d+)/.exec(version.trim())?.[1] ?? version.trim();
}

async function countOf(client: Pick<NetboxRestClient, 'get'>, path: string, where: string): Promise<number> {
  const body = await client.get(path, { operation: `count ${path} on ${where}`, query: { limit: '1' }, brief: true });
  const count = (body as { count?: unknown } | undefined)?.count;
  if (typeof count !== 'number') throw new Error(`${path} on ${where} answered without a "count"`);
  return count;
}

export async function netboxCloudDrillChecks(target: NetboxCloudTarget, copy: DrillCopy, output: unknown, clients: NetboxCloudDrillClients | undefined): Promise<DrillCheckResult[]> {
  const { backup, restore } = (output ?? {}) as RestoreOutput;
  const to = target.drill?.to ?? '?';
  const results: DrillCheckResult[] = [
    checkResult('restore completed', true, 'completed', 'completed', `restore job ${restore?.restoreJobId ?? '?'} completed onto ${to}${restore?.redeployedAt ? `, redeployed at ${restore.redeployedAt}` : ''}`),
  ];
  const checks = target.drill?.checks;
  if (!checks || !clients) return results;
  const expected = netboxRelease(copy.source.netboxVersion ?? backup?.version ?? null);
  try {
    const status = await clients.restored.get('status/', { operation: `read /api/status/ of the restored instance ${to}` });
    const observed = netboxRelease((status as Record<string, unknown> | undefined)?.['netbox-version']);
    results.push(
      checkResult(
        'NetBox version',
        expected !== null && observed === expected,
        expected,
        observed,
        observed === expected ? `the restored instance reports NetBox ${observed ?? '?'}, the backup's version` : `the restored instance reports NetBox ${observed ?? 'no version'}; the backup was made on ${expected ?? 'an unrecorded version'}`,
      ),
    );
  } catch (error) {
    results.push(checkResult('NetBox version', false, expected, null, `the restored instance's /api/status/ did not answer: ${(error as Error).message}`));
  }
  for (const { path, tolerancePercent } of checks.objectCounts) {
    const name = `object count ${path}`;
    try {
      if (!clients.source) throw new Error('no source instance configured (checks.source)');
      const [source, restored] = await Promise.all([countOf(clients.source, path, target.name), countOf(clients.restored, path, to)]);
      const allowed = allowedDifference(source, tolerancePercent);
      results.push(
        checkResult(name, withinTolerance(source, restored, tolerancePercent), source, restored, `${path}: ${restored} on the restored instance, ${source} on ${target.name} (tolerance ${tolerancePercent}%: ±${allowed})`),
      );
    } catch (error) {
      results.push(checkResult(name, false, null, null, `${path} could not be counted: ${(error as Error).message}`));
    }
  }
  return results;
}

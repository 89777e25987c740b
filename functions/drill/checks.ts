// Runs a kind's drill checks inside the DrillChecks function: the clients for the drill
// destination are made here, with the drill's own credentials (which never leave it).
import { findTargetOfKind } from '../config/load';
import type { CredentialsRef, OffsiteConfig, TargetConfig } from '../config/schema';
import { applianceClientFor } from '../kinds/appliance/handlers/events';
import { applianceDrillChecks } from '../kinds/appliance/drill-checks';
import { netboxCloudDrillChecks } from '../kinds/netbox-cloud/drill-checks';
import type { TargetKind, TargetOfKind } from '../kinds/registry';
import { vpsDrillChecks } from '../kinds/vps/drill-checks';
import { vpsClientFor } from '../kinds/vps/handlers/events';
import { NetboxRestClient } from '../netbox-rest/client';
import { resolveCredential } from '../runtime/credentials';
import { logger } from '../runtime/logger';
import type { DrillCheckResult, DrillCopy } from './rules';

type Checker<K extends TargetKind> = (config: OffsiteConfig, target: TargetOfKind<K>, copy: DrillCopy, output: unknown) => Promise<DrillCheckResult[]>;

async function netboxClient(target: TargetConfig, api: { baseUrl: string; credentials: CredentialsRef }, field: string, timeoutSeconds: number): Promise<NetboxRestClient> {
  const token = await resolveCredential(api.credentials, { targetName: target.name, field, jsonKey: 'token' });
  const where = 'env' in api.credentials ? `credentials.env ${api.credentials.env}` : `credentials.secret ${api.credentials.secret}`;
  return new NetboxRestClient({
    baseUrl: api.baseUrl,
    token,
    tokenLabel: `the drill token of target "${target.name}" (${field}, ${where})`,
    timeoutMs: timeoutSeconds * 1000,
    log: (message, fields) => logger.warn(message, { target: target.name, ...fields }),
  });
}

/** The kinds that can drill, and their checks; a kind whose definition has `drill` must be here (test/unit/drill-plan.test.ts). */
export const DRILL_CHECKS: { readonly [K in TargetKind]?: Checker<K> } = {
  'netbox-cloud': async (_config, target, copy, output) => {
    const checks = target.drill?.checks;
    const clients = checks
      ? {
          restored: await netboxClient(target, checks.restored, 'drill.checks.restored.credentials', target.requestTimeoutSeconds),
          ...(checks.source ? { source: await netboxClient(target, checks.source, 'drill.checks.source.credentials', target.requestTimeoutSeconds) } : {}),
        }
      : undefined;
    return netboxCloudDrillChecks(target, copy, output, clients);
  },
  appliance: async (config, target, _copy, output) => {
    const lab = findTargetOfKind(config, target.drill?.to ?? '', 'appliance');
    return applianceDrillChecks(target, output, await applianceClientFor(lab));
  },
  vps: async (_config, target) => vpsDrillChecks(target, await vpsClientFor(target)),
};

export async function runDrillChecks(config: OffsiteConfig, target: TargetConfig, copy: DrillCopy, output: unknown): Promise<DrillCheckResult[]> {
  const checker = DRILL_CHECKS[target.kind] as Checker<typeof target.kind> | undefined;
  if (!checker) throw new Error(`No drill checks for ${target.kind} targets`);
  return checker(config, target as never, copy, output);
}

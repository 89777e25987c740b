// The DrillChecks function's part for a NetBox Cloud target (functions/drill/checks.ts loads
// it by this path): clients for the restored and the source instance, made with the drill's
// own read-only tokens, which never leave this function.
import type { OffsiteConfig } from '../../../config/schema';
import { netboxDrillClient } from '../../../drill/netbox-client';
import type { DrillCheckResult, DrillCopy } from '../../../drill/rules';
import type { NetboxCloudTarget } from '../config';
import { netboxCloudDrillChecks } from '../drill-checks';

export async function runDrillChecks(_config: OffsiteConfig, target: NetboxCloudTarget, copy: DrillCopy, output: unknown): Promise<DrillCheckResult[]> {
  const checks = target.drill?.checks;
  const clients = checks
    ? {
        restored: await netboxDrillClient(target, checks.restored, 'drill.checks.restored.credentials', target.requestTimeoutSeconds),
        ...(checks.source ? { source: await netboxDrillClient(target, checks.source, 'drill.checks.source.credentials', target.requestTimeoutSeconds) } : {}),
      }
    : undefined;
  return netboxCloudDrillChecks(target, copy, output, clients);
}

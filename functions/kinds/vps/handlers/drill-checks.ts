// The DrillChecks function's part for a VPS target (functions/drill/checks.ts loads it by
// this path): the provider client of the target's own account, which holds the drill server.
import type { OffsiteConfig } from '../../../config/schema';
import type { DrillCheckResult, DrillCopy } from '../../../drill/rules';
import type { VpsTarget } from '../config';
import { vpsDrillChecks } from '../drill-checks';
import { vpsClientFor } from './clients';

export async function runDrillChecks(_config: OffsiteConfig, target: VpsTarget, _copy: DrillCopy, _output: unknown): Promise<DrillCheckResult[]> {
  return vpsDrillChecks(target, await vpsClientFor(target));
}

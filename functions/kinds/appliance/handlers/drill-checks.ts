// The DrillChecks function's part for an appliance target (functions/drill/checks.ts loads
// it by this path): the lab box's client, with the lab target's own credentials.
import { findTargetOfKind } from '../../../config/load';
import type { OffsiteConfig } from '../../../config/schema';
import type { DrillCheckResult, DrillCopy } from '../../../drill/rules';
import type { ApplianceTarget } from '../config';
import { applianceDrillChecks } from '../drill-checks';
import { applianceClientFor } from './clients';

export async function runDrillChecks(config: OffsiteConfig, target: ApplianceTarget, _copy: DrillCopy, output: unknown): Promise<DrillCheckResult[]> {
  const lab = findTargetOfKind(config, target.drill?.to ?? '', 'appliance');
  return applianceDrillChecks(target, output, await applianceClientFor(lab));
}

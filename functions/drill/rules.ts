// What a kind brings to a restore drill (its definition's `drill`): which copy the drill
// restores, the restore lifecycle's input for the configured destination, and the refusal
// of a destination that is the production target. Plain data and pure functions, like
// the rest of a kind's definition; the checks that run after the restore live in the
// kind's folder (drill-checks.ts) and are listed in functions/drill/checks.ts.
import type { JsonObject } from '../kinds/kind';

/** The copy a drill restores: the newest verified archived copy, or (vps) the newest catalogue record of a provider-held backup. */
export interface DrillCopy {
  /** The archived object; null for a backup the provider holds. */
  readonly objectKey: string | null;
  readonly manifestKey: string;
  readonly sourceBackupId: string;
  readonly createdAt: string;
  readonly sha256: string | null;
  readonly storage: 'archive' | 'provider';
  /** The vendor metadata the manifest kept (NetBox version, software version, …). */
  readonly source: { readonly [key: string]: string | number | boolean | null };
}

/** The parts of the whole configuration a kind's refusal may look at (appliance: the destination is another target). */
export interface DrillContext {
  readonly targets: readonly { readonly name: string; readonly kind: string; readonly baseUrl?: string }[];
}

export interface KindDrillRules<Target> {
  /** Where the copies come from: archived copies, or the provider's catalogue records (vps). */
  readonly copies: 'archive' | 'provider';
  /** The configured destination in words ("instance nb-…", "appliance lab-01", "server 67890"); undefined: no drill. */
  destination(target: Target): string | undefined;
  /** Why the configured destination is the production target itself (or unusable); undefined when it may be drilled onto. */
  refusal(target: Target, context: DrillContext): string | undefined;
  /** The restore lifecycle's input: the confirmation is implicit, and only ever for the configured destination. */
  restoreInput(target: Target, copy: DrillCopy): JsonObject;
  /**
   * The targets whose credentials the drill's checks use to reach the destination (the
   * DrillChecks function is granted their secrets); absent: none (the checks bring their own tokens).
   */
  checksUseCredentialsOf?(target: Target, context: DrillContext): readonly string[];
}

/** What one check after the restore saw. */
export interface DrillCheckResult {
  /** e.g. "restore completed", "NetBox version", "object count dcim/devices", "probe". */
  readonly name: string;
  readonly passed: boolean;
  readonly expected: string | number | null;
  readonly observed: string | number | null;
  /** In plain words, what was compared and what came back. */
  readonly message: string;
}

export function checkResult(name: string, passed: boolean, expected: string | number | null, observed: string | number | null, message: string): DrillCheckResult {
  return { name, passed, expected, observed, message };
}

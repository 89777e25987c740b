// Runs a kind's drill checks inside the DrillChecks function. Each kind that drills keeps
// its part in one fixed place, functions/kinds/<kind>/handlers/drill-checks.ts, exporting
// `runDrillChecks`: it makes the clients for the drill destination there, with the drill's
// own credentials (which never leave this function). Loaded by that path rather than listed
// here, so that a kind brings it without an edit outside its folder (the bundler includes
// every file the pattern matches; test/unit/drill-plan.test.ts checks each drilling kind has one).
import type { OffsiteConfig, TargetConfig } from '../config/schema';
import type { DrillCheckResult, DrillCopy } from './rules';

export type KindDrillChecker = (config: OffsiteConfig, target: TargetConfig, copy: DrillCopy, output: unknown) => Promise<DrillCheckResult[]>;

/** The kind's `runDrillChecks` (undefined when its file exports none); a kind without the file fails to load, naming the path. */
export function drillCheckerOf(kind: string): KindDrillChecker | undefined {
  // require, not import(): it loads TypeScript wherever offsite runs (the CLI's tsx hook, jest),
  // and the bundler expands the pattern (with its `.ts`) to the kinds' files.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(`../kinds/${kind}/handlers/drill-checks.ts`) as { runDrillChecks?: unknown };
  return typeof module.runDrillChecks === 'function' ? (module.runDrillChecks as KindDrillChecker) : undefined;
}

export async function runDrillChecks(config: OffsiteConfig, target: TargetConfig, copy: DrillCopy, output: unknown): Promise<DrillCheckResult[]> {
  const checker = drillCheckerOf(target.kind);
  if (!checker) throw new Error(`No drill checks for ${target.kind} targets`);
  return checker(config, target, copy, output);
}

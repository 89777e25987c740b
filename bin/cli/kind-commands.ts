// What the command line does differently for a kind whose backups are not archived
// copies (vps: the provider holds them). Kinds without an entry use the archive's
// behaviour. This runs on the laptop only, so it may import a kind's domain code and
// clients (the kind definitions must not).
import type { PruneReport } from '../../functions/archive/prune-report';
import type { OffsiteConfig, TargetConfig } from '../../functions/config/schema';
import type { TargetKind, TargetOfKind } from '../../functions/kinds/registry';

export interface KindCommands<Target> {
  /** Applies the target's retention at the vendor (instead of to the archive's copies). */
  readonly prune?: (config: OffsiteConfig, target: Target, options: { readonly dryRun: boolean }) => Promise<PruneReport>;
}

const KIND_COMMANDS: { readonly [K in TargetKind]?: KindCommands<TargetOfKind<K>> } = {};

export function kindCommandsOf<T extends TargetConfig>(target: T): KindCommands<T> {
  return (KIND_COMMANDS[target.kind] ?? {}) as KindCommands<T>;
}

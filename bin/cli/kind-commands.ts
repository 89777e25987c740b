// What the command line does differently for a kind whose backups are not archived
// copies (vps: the provider holds them). Kinds without an entry use the archive's
// behaviour. This runs on the laptop only, so it may import a kind's domain code and
// clients (the kind definitions must not).
import type { ArchiveListing } from '../../functions/archive/listing';
import type { PruneReport } from '../../functions/archive/prune-report';
import type { OffsiteConfig, TargetConfig } from '../../functions/config/schema';
import type { TargetKind, TargetOfKind } from '../../functions/kinds/registry';
import { listVps, pruneVps } from '../../functions/kinds/vps/commands';

export interface KindCommands<Target> {
  /** Applies the target's retention at the vendor (instead of to the archive's copies). */
  readonly prune?: (config: OffsiteConfig, target: Target, options: { readonly dryRun: boolean }) => Promise<PruneReport>;
  /** What `offsite list` adds after the archive's listing (vps: the provider's backups, marked made by offsite or not). */
  readonly list?: (
    config: OffsiteConfig,
    target: Target,
    listing: ArchiveListing,
    now: Date,
  ) => Promise<{ readonly json: { readonly [key: string]: unknown }; readonly lines: readonly string[]; readonly warnings: readonly string[] }>;
}

const KIND_COMMANDS: { readonly [K in TargetKind]?: KindCommands<TargetOfKind<K>> } = {
  vps: { prune: pruneVps, list: (_config, target, listing, now) => listVps(target, listing.providerRecords, now) },
};

export function kindCommandsOf<T extends TargetConfig>(target: T): KindCommands<T> {
  return (KIND_COMMANDS[target.kind] ?? {}) as KindCommands<T>;
}

// The command line's hooks for vps targets (the definition's `cli`): the provider holds the
// backups, so `list` also asks it and `prune` applies retention there. Laptop only.
import type { KindCommands } from '../kind';
import { listVps, pruneVps } from './commands';
import type { VpsTarget } from './config';

export const kindCommands: KindCommands<VpsTarget> = {
  prune: pruneVps,
  list: (_config, target, listing, now) => listVps(target, listing.providerRecords, now),
};

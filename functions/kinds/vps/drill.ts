import type { KindDrillRules } from '../../drill/rules';
import type { VpsTarget } from './config';

/** A VPS drill restores the newest catalogued backup (held by the provider) onto another server of the account. */
export const vpsDrill: KindDrillRules<VpsTarget> = {
  copies: 'provider',
  destination: (target) => (target.drill ? `server ${target.drill.to}` : undefined),
  refusal: (target) =>
    target.drill && target.drill.to === target.serverId
      ? `the drill destination server ${target.drill.to} (drill.to) is ${target.name}'s own server: a drill never restores onto the production target`
      : undefined,
  // confirm repeats the target's name as the restore lifecycle asks; the server it
  // overwrites is targetServerId, which ResolveBackup accepts only as the configured drill.to.
  restoreInput: (target, copy) => ({ target: target.name, backupId: copy.sourceBackupId, targetServerId: target.drill?.to ?? 0, confirm: target.name }),
  // The checks call the provider with the target's own token (the drill server is in the same account).
  checksUseCredentialsOf: (target) => (target.drill ? [target.name] : []),
};

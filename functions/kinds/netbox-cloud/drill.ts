import type { KindDrillRules } from '../../drill/rules';
import type { NetboxCloudTarget } from './config';

/** A NetBox Cloud drill restores the newest archived copy's backup (the vendor still holds it) onto another instance. */
export const netboxCloudDrill: KindDrillRules<NetboxCloudTarget> = {
  copies: 'archive',
  destination: (target) => (target.drill ? `instance ${target.drill.to}` : undefined),
  refusal: (target) =>
    target.drill && target.drill.to === target.instanceId
      ? `the drill destination ${target.drill.to} (drill.to) is ${target.name}'s own instance: a drill never restores onto the production target`
      : undefined,
  restoreInput: (target, copy) => ({
    target: target.name,
    backupId: copy.sourceBackupId,
    targetInstanceId: target.drill?.to ?? '',
    confirm: target.drill?.to ?? '',
  }),
};

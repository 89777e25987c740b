import type { ArchiveListing } from '../../archive/listing';
import type { KindDrillRules } from '../../drill/rules';
import type { ApplianceBackup } from './client';
import type { ApplianceTarget } from './config';
import { isUploadOf } from './provenance';

/** The host an appliance answers on: two target names for one box are the same box. */
function hostOf(baseUrl: string | undefined): string | undefined {
  try {
    return baseUrl === undefined ? undefined : new URL(baseUrl).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/** An appliance drill uploads the newest archived copy to another configured appliance (a lab box) and restores it there. */
export const applianceDrill: KindDrillRules<ApplianceTarget> = {
  copies: 'archive',
  destination: (target) => (target.drill ? `appliance ${target.drill.to}` : undefined),
  refusal: (target, context) => {
    const drill = target.drill;
    if (!drill) return undefined;
    if (drill.to === target.name) return `the drill destination ${drill.to} (drill.to) is the target itself: a drill never restores onto the production appliance`;
    const destination = context.targets.find((candidate) => candidate.name === drill.to);
    if (!destination) return `drill.to names "${drill.to}", which is not a configured target; name another appliance target (a lab box)`;
    if (destination.kind !== 'appliance') return `drill.to names "${drill.to}", a ${destination.kind} target; an appliance drill restores onto another appliance target`;
    if (hostOf(destination.baseUrl) === hostOf(target.baseUrl)) {
      return `the drill destination ${drill.to} (drill.to) answers at ${hostOf(target.baseUrl) ?? '?'}, the same appliance as ${target.name}: a drill never restores onto the production appliance`;
    }
    return undefined;
  },
  restoreInput: (target, copy) => ({ target: target.drill?.to ?? '', archiveKey: copy.objectKey ?? '', archiveTarget: target.name, confirm: target.drill?.to ?? '' }),
  // The checks log in to the lab appliance the drill names, with that target's credentials.
  checksUseCredentialsOf: (target, context) => context.targets.filter((candidate) => candidate.name === target.drill?.to).map((candidate) => candidate.name),
};

/**
 * The drill destination's backups that earlier drills uploaded from the drilled target's
 * archived copies, except the one this drill restores. Each is still in the archive, and
 * each holds one of the lab box's few slots, which nothing else frees (a drill destination
 * is not backed up or pruned for the drilled target): left there, every drill of a newer
 * copy uploads one more, until the box refuses the upload and every drill after fails.
 */
export function earlierDrillUploads(held: readonly ApplianceBackup[], sourceArchive: ArchiveListing, restoringId: string): ApplianceBackup[] {
  const copies = sourceArchive.copies.filter((copy) => copy.objectMatchesManifest);
  return held.filter((backup) => backup.id !== restoringId && copies.some((copy) => isUploadOf(backup, copy)));
}

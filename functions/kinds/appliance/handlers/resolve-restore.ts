import { z } from 'zod';
import { findTargetOfKind } from '../../../config/load';
import { InvalidInput } from '../../../shared/errors';
import { listArchivedCopies } from '../../../archive/listing';
import { resolveRestore, restoreSelection, type SecondaryListing } from '../restore-plan';
import { primaryPlace, secondaryPlace } from '../../../archive/places';
import { errorMessage } from '../../../shared/errors';
import type { OffsiteConfig } from '../../../config/schema';
import { logger } from '../../../runtime/logger';
import { lambdaHandler } from '../../../middleware/middleware';
import { earlierDrillUploads } from '../drill';
import { applianceTarget, targetName } from './clients';

/**
 * The secondary's copies of the target, when one is configured. A secondary that cannot be
 * listed does not stop a restore the primary can serve: it is logged, and the restore goes
 * on with the primary alone.
 */
async function secondaryListing(config: OffsiteConfig, targetName: string): Promise<SecondaryListing | undefined> {
  const secondary = await secondaryPlace(config);
  if (!secondary) return undefined;
  try {
    return { primary: primaryPlace(config), secondary, listing: await listArchivedCopies(secondary.s3, secondary.bucket, secondary.prefix, targetName) };
  } catch (error) {
    logger.warn('the secondary archive could not be listed; restoring from the primary only', { target: targetName, secondary: secondary.url, error: errorMessage(error) });
    return undefined;
  }
}

/** ResolveBackup: what to restore, in place or by upload from the archive; refuses a software mismatch unless allowed. */
export const handler = lambdaHandler(
  z.object({
    target: targetName,
    // The execution input as the operator gave it.
    request: z.looseObject({
      backupId: z.string().min(1).optional(),
      archiveKey: z.string().min(1).optional(),
      latest: z.boolean().optional(),
      allowVersionMismatch: z.boolean().default(false),
      /** A drill: the appliance target whose archived copies are restored here (its drill.to must name this target). */
      archiveTarget: z.string().min(1).optional(),
    }),
  }),
  async (event) => {
    const selection = restoreSelection(event.request);
    const { config, target, client } = await applianceTarget(event.target);
    const source = event.request.archiveTarget === undefined ? target : findTargetOfKind(config, event.request.archiveTarget, 'appliance');
    // Another target's copies are restored only onto the drill destination it names itself.
    if (source.name !== target.name && source.drill?.to !== target.name) {
      throw new InvalidInput(`Nothing was restored: ${source.name}'s copies are restored onto ${target.name} only when ${source.name}'s drill.to names it.`);
    }
    const primary = primaryPlace(config);
    const [archive, secondary] = await Promise.all([listArchivedCopies(primary.s3, primary.bucket, primary.prefix, source.name), secondaryListing(config, source.name)]);
    const plan = await resolveRestore(client, target, archive, selection, event.request.allowVersionMismatch, source.name === target.name ? undefined : source.name, secondary);
    if (plan.placeReason) logger.warn('restoring from the secondary archive copy', { target: target.name, objectKey: plan.archive?.objectKey, reason: plan.placeReason });
    if (plan.versionCheck !== 'match') logger.warn('software versions not confirmed equal', { target: target.name, ...plan });
    if (source.name !== target.name) {
      // A drill, past every refusal: free the slots the earlier drills' uploads hold on the lab box.
      // Uploads of copies either place holds: an earlier drill may have restored from the secondary.
      const copies = { ...archive, copies: [...archive.copies, ...(secondary?.listing.copies ?? [])] };
      for (const leftover of earlierDrillUploads(await client.listBackups(), copies, plan.backup.backupId)) {
        await client.deleteBackup(leftover.id);
        logger.info('deleted an earlier drill upload from the drill destination', { target: target.name, drilled: source.name, backupId: leftover.id });
      }
    }
    return plan;
  },
);

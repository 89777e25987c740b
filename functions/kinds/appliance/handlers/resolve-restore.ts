import { z } from 'zod';
import { findTargetOfKind } from '../../../config/load';
import { InvalidInput } from '../../../shared/errors';
import { listArchivedCopies } from '../../../archive/listing';
import { resolveRestore, restoreSelection } from '../restore-plan';
import { archiveClient } from '../../../runtime/archive-client';
import { logger } from '../../../runtime/logger';
import { lambdaHandler } from '../../../middleware/middleware';
import { earlierDrillUploads } from '../drill';
import { applianceTarget, targetName } from './clients';

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
    const archive = await listArchivedCopies(archiveClient(config.archive), config.archive.bucket, config.archive.prefix, source.name);
    const plan = await resolveRestore(client, target, archive, selection, event.request.allowVersionMismatch, source.name === target.name ? undefined : source.name);
    if (plan.versionCheck !== 'match') logger.warn('software versions not confirmed equal', { target: target.name, ...plan });
    if (source.name !== target.name) {
      // A drill, past every refusal: free the slots the earlier drills' uploads hold on the lab box.
      for (const leftover of earlierDrillUploads(await client.listBackups(), archive, plan.backup.backupId)) {
        await client.deleteBackup(leftover.id);
        logger.info('deleted an earlier drill upload from the drill destination', { target: target.name, drilled: source.name, backupId: leftover.id });
      }
    }
    return plan;
  },
);

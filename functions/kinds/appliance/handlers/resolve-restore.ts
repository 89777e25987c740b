import { z } from 'zod';
import { listArchivedCopies } from '../../../archive/catalog';
import { resolveRestore, restoreSelection } from '../restore-plan';
import { archiveClient } from '../../../runtime/archive-client';
import { logger } from '../../../runtime/logger';
import { lambdaHandler } from '../../../handlers/middleware';
import { applianceTarget, targetName } from './events';

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
    }),
  }),
  async (event) => {
    const selection = restoreSelection(event.request);
    const { config, target, client } = await applianceTarget(event.target);
    const archive = await listArchivedCopies(archiveClient(config.archive), config.archive.bucket, config.archive.prefix, target.name);
    const plan = await resolveRestore(client, target, archive, selection, event.request.allowVersionMismatch);
    if (plan.versionCheck !== 'match') logger.warn('software versions not confirmed equal', { target: target.name, ...plan });
    return plan;
  },
);

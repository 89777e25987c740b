import { z } from 'zod';
import { listArchivedCopies } from '../../../archive/listing';
import { createBackup } from '../backups';
import { archiveClient } from '../../../runtime/archive-client';
import { lambdaHandler } from '../../../middleware/middleware';
import { applianceTarget, targetName } from './clients';

/**
 * RequestBackup: POST backups with a description that marks it as made by offsite. On a
 * full disk, the oldest backup offsite put there with a verified archive copy makes room;
 * without one, it fails as ApplianceStorageFull. The archive is read only in that case.
 */
export const handler = lambdaHandler(z.object({ target: targetName, executionName: z.string().min(1) }), async (event) => {
  const { config, target, client } = await applianceTarget(event.target);
  const readArchive = () => listArchivedCopies(archiveClient(config.archive), config.archive.bucket, config.archive.prefix, target.name);
  return createBackup(client, target, event.executionName, readArchive);
});

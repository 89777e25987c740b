import { z } from 'zod';
import { findProducedBackup } from '../lifecycle';
import { lambdaHandler } from '../../../middleware/middleware';
import { backupRequestState, clock, netboxCloudTarget, targetName } from './clients';

/**
 * FindBackup: the backup this request produced, matched across every page of the list. A
 * listing used although its pages contradicted each other (the backup sought was already
 * listed) is named in `warnings`, which the execution output keeps and the CLI prints: the
 * person running it learns that the vendor's listing is broken.
 */
export const handler = lambdaHandler(z.object({ target: targetName, request: backupRequestState }), async (event) => {
  const { target, client, warnings } = await netboxCloudTarget(event.target);
  const backup = await findProducedBackup(client, target, event.request, clock);
  return warnings.length > 0 ? { ...backup, warnings: [...warnings] } : backup;
});

import { z } from 'zod';
import { findTargetOfKind } from '../../../config/load';
import { lambdaHandler } from '../../../middleware/middleware';
import { loadRuntimeConfig } from '../../../runtime/config-source';
import { writeRecord } from '../records';
import { archiveLocation, clock, completedBackup, targetName } from './clients';

/** RecordBackup: writes the catalogue record (`"storage": "provider"`) of the completed backup into the archive. No provider call. */
export const handler = lambdaHandler(z.object({ target: targetName, backup: completedBackup }), async (event) => {
  const config = await loadRuntimeConfig();
  const target = findTargetOfKind(config, event.target, 'vps');
  return writeRecord(archiveLocation(config), target, event.backup.facts, clock);
});

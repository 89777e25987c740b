import { copyToArchiveHandler } from '../../../archive/copy-handler';
import { parseEvent } from '../../../middleware/middleware';
import { applianceCopySource, prepareApplianceDownload } from '../download';
import { applianceClientFor } from './clients';

/** CopyToArchive: backups/items/{id}/file, through the target's credentials and CA, streamed into the archive. */
export const handler = copyToArchiveHandler('appliance', async (target, source) =>
  prepareApplianceDownload(await applianceClientFor(target), target, parseEvent(applianceCopySource, source)),
);

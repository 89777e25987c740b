import { copyToArchiveHandler } from '../../../archive/copy-handler';
import { parseEvent } from '../../../middleware/middleware';
import { netboxCloudCopySource, prepareNetboxCloudDownload } from '../download';
import { clock, netboxCloudClientFor } from './clients';

/** CopyToArchive: the retrieval's presigned download, looked up here from its id, streamed into the archive. */
export const handler = copyToArchiveHandler('netbox-cloud', async (target, source) =>
  prepareNetboxCloudDownload(await netboxCloudClientFor(target), target, parseEvent(netboxCloudCopySource, source), clock),
);

import { z } from 'zod';
import { requestRestore } from '../../netbox-cloud/lifecycle';
import { lambdaHandler } from '../middleware';
import { netboxCloudTarget, targetName } from './events';

/** RequestRestore: POST backup-restore. A 422 fails as TargetVersionUnavailable. */
export const handler = lambdaHandler(
  z.object({ target: targetName, retrievalId: z.string().min(1), targetInstanceId: z.string().min(1) }),
  async (event) => {
    const { target, client } = await netboxCloudTarget(event.target);
    return requestRestore(client, target, event.retrievalId, event.targetInstanceId);
  },
);

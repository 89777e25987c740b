import { z } from 'zod';
import { checkBackup } from '../backups';
import { checkUploadedBackup } from '../upload';
import { lambdaHandler } from '../../../middleware/middleware';
import { applianceTarget, pollState, targetName } from './clients';

/** CheckBackup / CheckUploadedBackup: GET items/{id}; failed ends with the appliance's status_message. An upload that fails or has another size is deleted. */
export const handler = lambdaHandler(
  z.object({
    target: targetName,
    backup: z.object({ backupId: z.string().min(1), poll: pollState, notes: z.array(z.string()).default([]) }),
    expectedSizeBytes: z.number().int().nonnegative().optional(),
  }),
  async (event) => {
    const { target, client } = await applianceTarget(event.target);
    // expectedSizeBytes comes only with an upload (CheckUploadedBackup).
    return event.expectedSizeBytes === undefined
      ? checkBackup(client, target, event.backup.backupId, event.backup.poll, undefined, event.backup.notes)
      : checkUploadedBackup(client, target, event.backup.backupId, event.backup.poll, event.expectedSizeBytes, event.backup.notes);
  },
);

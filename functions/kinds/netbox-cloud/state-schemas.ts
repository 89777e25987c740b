import { z } from 'zod';
import { pollStateSchema } from '../../shared/poll';

// The shapes the NetBox Cloud steps hand each other through the state machine
// (lifecycle.ts types), checked again when a Task receives them.

const pollState = pollStateSchema;

const progress = z.enum(['pending', 'completed', 'failed']);

// An id is null while a creating call's ambiguous answer has not been settled by a lookup.
const createdId = z.string().min(1).nullable();
const ambiguousAnswer = z.string().nullable();

export const backupRequestState = z.object({
  requestId: createdId,
  requestedAt: z.string().min(1),
  ambiguousAnswer,
  status: progress,
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  poll: pollState,
});

export const retrievalState = z.object({
  retrievalId: createdId,
  backupId: z.string().min(1),
  requestedAt: z.string().min(1),
  ambiguousAnswer,
  status: progress,
  expiresAt: z.string().nullable(),
  poll: pollState,
});

export const restoreState = z.object({
  restoreJobId: createdId,
  retrievalId: z.string().min(1),
  targetInstanceId: z.string().min(1),
  requestedAt: z.string().min(1),
  ambiguousAnswer,
  status: progress,
  failedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  redeployedAt: z.string().nullable(),
  checksSinceCompleted: z.number().int().nonnegative(),
  poll: pollState,
});

export const backupSummary = z.object({
  backupId: z.string().min(1),
  instanceId: z.string(),
  createdAt: z.string(),
  sizeBytes: z.number().nullable(),
  checksum: z.string().nullable(),
  version: z.string().nullable(),
  triggerType: z.string().nullable(),
  /** What the step had to accept on the way (a self-contradicting listing that still held the backup). */
  warnings: z.array(z.string()).optional(),
});

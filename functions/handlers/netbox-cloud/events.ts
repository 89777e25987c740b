import { z } from 'zod';
import { findTargetOfKind } from '../../config/load';
import type { NetboxCloudTarget } from '../../config/schema';
import { NetboxCloudClient } from '../../netbox-cloud/client';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { resolveApiKey } from '../../runtime/credentials';


export const targetName = z.string().min(1, 'expected the name of a configured target');

const pollState = z.object({
  attempt: z.number().int().nonnegative(),
  waitSeconds: z.number().int().positive(),
  elapsedSeconds: z.number().nonnegative(),
  exhausted: z.boolean(),
});

const progress = z.enum(['pending', 'completed', 'failed']);

export const backupRequestState = z.object({
  requestId: z.string().min(1),
  requestedAt: z.string().min(1),
  status: progress,
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  poll: pollState,
});

export const retrievalState = z.object({
  retrievalId: z.string().min(1),
  backupId: z.string().min(1),
  status: progress,
  expiresAt: z.string().nullable(),
  poll: pollState,
});

export const restoreState = z.object({
  restoreJobId: z.string().min(1),
  retrievalId: z.string().min(1),
  targetInstanceId: z.string().min(1),
  status: progress,
  failedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  redeployedAt: z.string().nullable(),
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
});

export const clock = (): Date => new Date();

/** The configured NetBox Cloud target and a client holding its key; the key stays in this function. */
export async function netboxCloudTarget(name: string): Promise<{ target: NetboxCloudTarget; client: NetboxCloudClient }> {
  const target = findTargetOfKind(await loadRuntimeConfig(), name, 'netbox-cloud');
  const apiKey = await resolveApiKey(target.credentials, target.name);
  const client = new NetboxCloudClient({ baseUrl: target.baseUrl, orgId: target.orgId, apiKey, timeoutMs: target.requestTimeoutSeconds * 1000 });
  return { target, client };
}

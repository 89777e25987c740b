import { z } from 'zod';
import { findTargetOfKind } from '../../../config/load';
import type { OffsiteConfig } from '../../../config/schema';
import { archiveClient } from '../../../runtime/archive-client';
import { primaryPlace } from '../../../archive/places';
import { loadRuntimeConfig } from '../../../runtime/config-source';
import { resolveTargetCredential } from '../../../runtime/credentials';
import { pollStateSchema } from '../../../shared/poll';
import { VpsClient } from '../client';
import type { VpsTarget } from '../config';
import type { ArchiveLocation } from '../records';

export { systemClock as clock } from '../../../shared/clock';

export const targetName = z.string().min(1, 'expected the name of a configured target');
export const executionName = z.string().min(1);

const facts = z.object({
  backupId: z.number().int(),
  backupType: z.string(),
  providerStatus: z.string(),
  sizeMb: z.number().nullable(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  description: z.string().nullable(),
  serverName: z.string().nullable(),
});

export const backupState = z.object({
  backupId: z.number().int().nullable(),
  description: z.string(),
  requestedAt: z.string(),
  ambiguousAnswer: z.string().nullable(),
  status: z.enum(['pending', 'completed']),
  facts: facts.nullable(),
  poll: pollStateSchema,
  // A run started before notes existed carries none.
  notes: z.array(z.string()).default([]),
});

export const completedBackup = backupState.extend({ status: z.literal('completed'), facts });

export const restoreBackup = facts.extend({ serverId: z.number().int(), restoreOnto: z.number().int().positive().optional() });

export const restoreState = z.object({
  backupId: z.number().int(),
  serverId: z.number().int().positive().optional(),
  requestedAt: z.string(),
  ambiguousAnswer: z.string().nullable(),
  status: z.enum(['pending', 'completed']),
  serverStatus: z.string().nullable(),
  seenRestoring: z.boolean(),
  checks: z.number().int().nonnegative(),
  note: z.string().nullable(),
  poll: pollStateSchema,
});

export const removal = z.object({ backupId: z.number().int().nullable(), manifestKey: z.string().min(1) });

/** A client holding the target's token; the token stays in the function that made it. */
export async function vpsClientFor(target: VpsTarget): Promise<VpsClient> {
  const token = await resolveTargetCredential(target, 'credentials');
  return new VpsClient({ baseUrl: target.baseUrl, token, timeoutMs: target.requestTimeoutSeconds * 1000 });
}

export function archiveLocation(config: OffsiteConfig): ArchiveLocation {
  return { s3: archiveClient(config.archive), bucket: config.archive.bucket, prefix: config.archive.prefix, kmsKeyArn: primaryPlace(config).kmsKeyArn };
}

/** The configured VPS target of that name, the configuration, and a client for it. */
export async function vpsTarget(name: string): Promise<{ config: OffsiteConfig; target: VpsTarget; client: VpsClient }> {
  const config = await loadRuntimeConfig();
  const target = findTargetOfKind(config, name, 'vps');
  return { config, target, client: await vpsClientFor(target) };
}

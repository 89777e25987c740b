import { z } from 'zod';
import { findTargetOfKind } from '../../../config/load';
import type { NetboxCloudTarget } from '../config';
import { NetboxCloudClient } from '../client';
import { loadRuntimeConfig } from '../../../runtime/config-source';
import { resolveTargetCredential } from '../../../runtime/credentials';
import { logger } from '../../../runtime/logger';

export { backupRequestState, backupSummary, restoreState, retrievalState } from '../state-schemas';

export const targetName = z.string().min(1, 'expected the name of a configured target');

export { systemClock as clock } from '../../../shared/clock';

/**
 * A client holding the target's key; the key stays in the function that made it. Its
 * warnings (a listing whose pages contradicted each other) are logged and, when
 * `warnings` is given, collected there for the step's result.
 */
export async function netboxCloudClientFor(target: NetboxCloudTarget, warnings?: string[]): Promise<NetboxCloudClient> {
  const apiKey = await resolveTargetCredential(target, 'credentials');
  return new NetboxCloudClient({
    baseUrl: target.baseUrl,
    orgId: target.orgId,
    apiKey,
    timeoutMs: target.requestTimeoutSeconds * 1000,
    warn: (message) => {
      logger.warn(message, { target: target.name });
      warnings?.push(message);
    },
  });
}

/** The configured NetBox Cloud target of that name, a client for it, and the warnings that client gives while the step runs. */
export async function netboxCloudTarget(name: string): Promise<{ target: NetboxCloudTarget; client: NetboxCloudClient; warnings: readonly string[] }> {
  const target = findTargetOfKind(await loadRuntimeConfig(), name, 'netbox-cloud');
  const warnings: string[] = [];
  return { target, client: await netboxCloudClientFor(target, warnings), warnings };
}

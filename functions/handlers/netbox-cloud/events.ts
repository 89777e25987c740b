import { z } from 'zod';
import { findTargetOfKind } from '../../config/load';
import type { NetboxCloudTarget } from '../../config/schema';
import { NetboxCloudClient } from '../../netbox-cloud/client';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { resolveApiKey } from '../../runtime/credentials';

export { backupRequestState, backupSummary, restoreState, retrievalState } from '../../netbox-cloud/state-schemas';


export const targetName = z.string().min(1, 'expected the name of a configured target');

export const clock = (): Date => new Date();

/** The configured NetBox Cloud target and a client holding its key; the key stays in this function. */
export async function netboxCloudTarget(name: string): Promise<{ target: NetboxCloudTarget; client: NetboxCloudClient }> {
  const target = findTargetOfKind(await loadRuntimeConfig(), name, 'netbox-cloud');
  const apiKey = await resolveApiKey(target.credentials, target.name);
  const client = new NetboxCloudClient({ baseUrl: target.baseUrl, orgId: target.orgId, apiKey, timeoutMs: target.requestTimeoutSeconds * 1000 });
  return { target, client };
}

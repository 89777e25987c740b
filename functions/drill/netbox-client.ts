// A NetBox REST client for a drill check, with a token the drill block names (resolved
// here, in the DrillChecks function, and never returned).
import type { CredentialsRef, TargetConfig } from '../config/schema';
import { NetboxRestClient } from '../netbox-rest/client';
import { resolveCredential } from '../runtime/credentials';
import { logger } from '../runtime/logger';

export async function netboxDrillClient(target: TargetConfig, api: { baseUrl: string; credentials: CredentialsRef }, field: string, timeoutSeconds: number): Promise<NetboxRestClient> {
  const token = await resolveCredential(api.credentials, { targetName: target.name, field, jsonKey: 'token' });
  const where = 'env' in api.credentials ? `credentials.env ${api.credentials.env}` : `credentials.secret ${api.credentials.secret}`;
  return new NetboxRestClient({
    baseUrl: api.baseUrl,
    token,
    tokenLabel: `the drill token of target "${target.name}" (${field}, ${where})`,
    timeoutMs: timeoutSeconds * 1000,
    log: (message, fields) => logger.warn(message, { target: target.name, ...fields }),
  });
}

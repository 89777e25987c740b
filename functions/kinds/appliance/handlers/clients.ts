import { z } from 'zod';
import { applianceAuthenticator, type ApplianceLogin } from '../auth';
import { ApplianceClient } from '../client';
import { applianceTransport } from '../transport';
import { findTargetOfKind } from '../../../config/load';
import type { OffsiteConfig } from '../../../config/schema';
import type { ApplianceTarget } from '../config';
import { loadRuntimeConfig } from '../../../runtime/config-source';
import { resolveTargetCredential } from '../../../runtime/credentials';
import { resolveTlsTrust } from '../../../runtime/tls-trust';

export const targetName = z.string().min(1, 'expected the name of a configured target');

export { pollStateSchema as pollState } from '../../../shared/poll';

export { systemClock as clock } from '../../../shared/clock';

async function loginFor(target: ApplianceTarget): Promise<ApplianceLogin> {
  const { auth } = target;
  if (auth.method === 'oauth2') {
    const secret = await resolveTargetCredential(target, 'auth.secret');
    return { method: 'oauth2', tokenPath: auth.tokenPath, grantType: auth.grantType, secret, ...(auth.clientId ? { clientId: auth.clientId } : {}) };
  }
  const password = await resolveTargetCredential(target, 'auth.password');
  return auth.method === 'token'
    ? { method: 'token', apiVersion: auth.apiVersion, username: auth.username, password }
    : { method: 'basic', username: auth.username, password };
}

/** A client with the target's credentials and TLS trust; the credentials stay in this function. */
export async function applianceClientFor(target: ApplianceTarget): Promise<ApplianceClient> {
  const [login, tls] = await Promise.all([loginFor(target), resolveTlsTrust(target, 'appliance', 'its credentials and backups')]);
  const transport = applianceTransport(tls);
  const timeoutMs = target.requestTimeoutSeconds * 1000;
  return new ApplianceClient({
    baseUrl: target.baseUrl,
    auth: applianceAuthenticator({ baseUrl: target.baseUrl, login, http: { fetch: transport.fetch, timeoutMs } }),
    transport,
    timeoutMs,
  });
}

/** The configured appliance target of that name, a client for it, and the whole configuration. */
export async function applianceTarget(name: string): Promise<{ config: OffsiteConfig; target: ApplianceTarget; client: ApplianceClient }> {
  const config = await loadRuntimeConfig();
  const target = findTargetOfKind(config, name, 'appliance');
  return { config, target, client: await applianceClientFor(target) };
}

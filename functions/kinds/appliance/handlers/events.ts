import { z } from 'zod';
import { applianceAuthenticator, type ApplianceLogin } from '../auth';
import { ApplianceClient } from '../client';
import { applianceTransport, type ApplianceTls } from '../transport';
import { findTargetOfKind } from '../../../config/load';
import type { OffsiteConfig } from '../../../config/schema';
import type { ApplianceTarget } from '../config';
import { loadRuntimeConfig } from '../../../runtime/config-source';
import { resolveTargetCredential } from '../../../runtime/credentials';
import { logger } from '../../../runtime/logger';
import { CredentialsUnavailable } from '../../../shared/errors';

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

async function tlsFor(target: ApplianceTarget): Promise<ApplianceTls> {
  if (target.tls?.dangerouslyDisableCertificateVerification) {
    // Said on every run, so nobody forgets it is on.
    logger.warn('TLS certificate verification is OFF for this appliance (tls.dangerouslyDisableCertificateVerification): anyone on the path can read its credentials and backups.', {
      target: target.name,
    });
    return { verifyCertificate: false };
  }
  const ca = target.tls?.ca;
  if (!ca) return { verifyCertificate: true };
  if ('pem' in ca) return { ca: ca.pem, verifyCertificate: true };
  const pem = await resolveTargetCredential(target, 'tls.ca');
  if (!pem.includes('-----BEGIN CERTIFICATE-----') || pem.includes('PRIVATE KEY')) {
    throw new CredentialsUnavailable(`Target "${target.name}": secret ${ca.secret} (tls.ca.secret) does not hold a PEM certificate bundle (certificates only, no private key).`);
  }
  return { ca: pem, verifyCertificate: true };
}

/** A client with the target's credentials and TLS trust; the credentials stay in this function. */
export async function applianceClientFor(target: ApplianceTarget): Promise<ApplianceClient> {
  const [login, tls] = await Promise.all([loginFor(target), tlsFor(target)]);
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

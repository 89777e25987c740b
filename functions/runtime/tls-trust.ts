import type { TlsSettings } from '../config/common';
import type { TargetConfig } from '../config/schema';
import { CredentialsUnavailable } from '../shared/errors';
import type { TlsTrust } from '../shared/tls-transport';
import { resolveTargetCredential } from './credentials';
import { logger } from './logger';

/**
 * The trust setting of a target with `tls` (appliances, a self-hosted NetBox): its CA
 * bundle inline or from Secrets Manager (certificates only), or verification off, which is
 * warned about on every run so nobody forgets it is on.
 */
export async function resolveTlsTrust(target: TargetConfig & { readonly tls?: TlsSettings }, system: string, exposes: string): Promise<TlsTrust> {
  if (target.tls?.dangerouslyDisableCertificateVerification) {
    logger.warn(`TLS certificate verification is OFF for this ${system} (tls.dangerouslyDisableCertificateVerification): anyone on the path can read ${exposes}.`, { target: target.name });
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

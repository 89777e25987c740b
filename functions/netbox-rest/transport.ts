import { Agent, fetch as undiciFetch } from 'undici';
import type { FetchFn } from '../shared/http';

/** How to trust a self-hosted NetBox's certificate (often signed by the team's own CA). */
export interface NetboxTls {
  /** PEM bundle trusted instead of the public CAs; undefined: the public CAs. */
  readonly ca?: string;
  readonly verifyCertificate: boolean;
}

// One connection pool per trust setting for the life of the process (a warm Lambda reuses
// it); idle connections close after a few seconds so the CLI exits promptly. The same
// shape as the appliance transport, kept here so the NetBox client depends on no kind.
const transports = new Map<string, FetchFn>();

/**
 * undici's fetch with this trust setting. Redirects are never followed: NetBox answers a
 * missing trailing slash with 302, and a redirect must not carry the token anywhere.
 */
export function netboxFetch(tls: NetboxTls): FetchFn {
  const key = `${tls.verifyCertificate ? 'verify' : 'no-verify'}\n${tls.ca ?? ''}`;
  const known = transports.get(key);
  if (known) return known;
  const dispatcher = new Agent({
    connect: { ...(tls.ca ? { ca: tls.ca } : {}), rejectUnauthorized: tls.verifyCertificate },
    keepAliveTimeout: 2000,
    keepAliveMaxTimeout: 5000,
  });
  const fetchWithTls: FetchFn = (url, init) => undiciFetch(url, { ...init, dispatcher, redirect: 'manual' });
  transports.set(key, fetchWithTls);
  return fetchWithTls;
}

import { fetch as undiciFetch } from 'undici';
import type { FetchFn } from '../shared/http';
import { tlsTransport, type TlsTrust } from '../shared/tls-transport';

/** How to trust a self-hosted NetBox's certificate (often signed by the team's own CA). */
export type NetboxTls = TlsTrust;

/**
 * undici's fetch with this trust setting (the shared connection pool per setting).
 * Redirects are never followed: NetBox answers a missing trailing slash with 302, and a
 * redirect must not carry the token anywhere.
 */
export function netboxFetch(tls: NetboxTls): FetchFn {
  const { dispatcher } = tlsTransport(tls);
  return (url, init) => undiciFetch(url, { ...init, dispatcher, redirect: 'manual' });
}

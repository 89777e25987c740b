import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import type { FetchFn } from './http';

/**
 * How to trust a server's certificate. Appliances and self-hosted servers present
 * certificates signed by the team's own CA (or self-signed), so a target carries the CA
 * bundle that signed it; turning verification off is a separate, explicit choice.
 */
export interface TlsTrust {
  /** PEM bundle trusted instead of the public CAs; undefined: the public CAs. */
  readonly ca?: string;
  readonly verifyCertificate: boolean;
}

export interface TlsTransport {
  readonly tls: TlsTrust;
  /** For requestJson: undici's fetch with this trust setting. */
  readonly fetch: FetchFn;
  /** For streamed requests (download, upload) with the same settings. */
  readonly dispatcher: Dispatcher;
}

// One connection pool per trust setting, kept for the life of the process (a warm Lambda
// reuses it). Idle connections close after a few seconds, so the CLI exits promptly.
const transports = new Map<string, TlsTransport>();

export function tlsTransport(tls: TlsTrust): TlsTransport {
  const key = `${tls.verifyCertificate ? 'verify' : 'no-verify'}\n${tls.ca ?? ''}`;
  const known = transports.get(key);
  if (known) return known;
  const dispatcher = new Agent({
    connect: { ...(tls.ca ? { ca: tls.ca } : {}), rejectUnauthorized: tls.verifyCertificate },
    keepAliveTimeout: 2000,
    keepAliveMaxTimeout: 5000,
  });
  // undici's fetch, not the global one: the dispatcher must come from the same undici.
  const fetchWithTls: FetchFn = (url, init) => undiciFetch(url, { ...init, dispatcher });
  const transport: TlsTransport = { tls, fetch: fetchWithTls, dispatcher };
  transports.set(key, transport);
  return transport;
}

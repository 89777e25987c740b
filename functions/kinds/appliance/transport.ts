import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import type { FetchFn } from '../../shared/http';

/**
 * How to trust an appliance's certificate. Appliances present self-signed certificates,
 * so a target carries the CA bundle that signed it; turning verification off is a
 * separate, explicit choice.
 */
export interface ApplianceTls {
  /** PEM bundle trusted instead of the public CAs; undefined: the public CAs. */
  readonly ca?: string;
  readonly verifyCertificate: boolean;
}

export interface ApplianceTransport {
  readonly tls: ApplianceTls;
  /** For requestJson: undici's fetch with this target's TLS settings. */
  readonly fetch: FetchFn;
  /** For streamed requests (download, upload) with the same settings. */
  readonly dispatcher: Dispatcher;
}

// One connection pool per trust setting, kept for the life of the process (a warm Lambda
// reuses it). Idle connections close after a few seconds, so the CLI exits promptly.
const transports = new Map<string, ApplianceTransport>();

export function applianceTransport(tls: ApplianceTls): ApplianceTransport {
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
  const transport: ApplianceTransport = { tls, fetch: fetchWithTls, dispatcher };
  transports.set(key, transport);
  return transport;
}

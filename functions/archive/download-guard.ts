import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { isLoopback } from '../config/common';
import { DownloadUrlRefused } from '../shared/errors';

/** Which download hosts a target accepts beyond public https ones. */
export interface DownloadHostPolicy {
  /** Loopback addresses, and plain http to them. */
  readonly allowLoopback: boolean;
  /** Private addresses (RFC 1918, CGNAT, IPv6 unique-local). */
  readonly allowPrivate: boolean;
}

/** Resolves a host name to every address it has (injectable so tests never touch DNS). */
export type ResolveHost = (hostname: string, options: LookupOptions) => Promise<readonly LookupAddress[]>;

/**
 * The one place that decides what a target's download links may point at.
 * - Loopback is allowed only when the target's own API (baseUrl) is on loopback: that is
 *   the sandbox and the tests, whose simulators serve their presigned links from the same
 *   127.0.0.1 over http. A deployed target's link to loopback would reach the function's
 *   own machine (the Lambda runtime API listens there), so it is refused.
 * - Private addresses only with the target's `allowPrivateDownloadHosts: true` (a download
 *   host reached through a VPC, say). The vendor document only shows a public https URL.
 * - Link-local and the metadata service are never allowed: a link there would hand the
 *   function's credentials to whoever chose the link.
 */
export function downloadHostPolicy(apiBaseUrl: string, allowPrivateDownloadHosts: boolean | undefined): DownloadHostPolicy {
  return { allowLoopback: isLoopback(new URL(apiBaseUrl).hostname), allowPrivate: allowPrivateDownloadHosts === true };
}

function blockList(ipv4: readonly string[], ipv6: readonly string[]): BlockList {
  const list = new BlockList();
  for (const [type, subnets] of [['ipv4', ipv4], ['ipv6', ipv6]] as const) {
    for (const subnet of subnets) {
      const [network = '', prefix = ''] = subnet.split('/');
      list.addSubnet(network, Number(prefix), type);
    }
  }
  return list;
}

// BlockList also matches an IPv4-mapped IPv6 address (::ffff:a.b.c.d) against the IPv4 rules.
const METADATA = blockList(['169.254.0.0/16'], ['fd00:ec2::254/128', 'fe80::/10']);
const UNROUTABLE = blockList(['0.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4'], ['::/96', 'ff00::/8']);
const LOOPBACK = blockList(['127.0.0.0/8'], ['::1/128']);
const PRIVATE = blockList(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'], ['fc00::/7', 'fec0::/10']);

const PRIVATE_HINT = 'set "allowPrivateDownloadHosts": true on the target if its download host is meant to be on a private network';

/** Why an address may not be downloaded from, or undefined when it may. */
export function addressRefusal(address: string, policy: DownloadHostPolicy): string | undefined {
  const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (METADATA.check(address, type)) return 'a link-local address (the cloud metadata service lives there); never allowed';
  if (LOOPBACK.check(address, type)) return policy.allowLoopback ? undefined : "a loopback address; allowed only when the target's baseUrl is itself loopback (the sandbox)";
  if (UNROUTABLE.check(address, type)) return 'an unspecified, multicast or reserved address; never allowed';
  if (PRIVATE.check(address, type)) return policy.allowPrivate ? undefined : `a private address; ${PRIVATE_HINT}`;
  return undefined;
}

function refused(url: URL, reason: string, redirectedFrom: string | undefined): DownloadUrlRefused {
  // The origin only: the path and query of a presigned URL carry its signature.
  const via = redirectedFrom ? ` (redirected from ${redirectedFrom})` : '';
  return new DownloadUrlRefused(`Download link to ${url.origin}${via} refused: ${reason}.`);
}

function literalAddress(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) === 0 ? undefined : host;
}

/**
 * Checks what can be checked before connecting: the scheme, and a host that is an IP
 * address (Node connects to those without a lookup). Host names are checked by
 * guardedLookup, on the addresses the connection then uses.
 */
export function checkDownloadUrl(url: URL, policy: DownloadHostPolicy, redirectedFrom?: string): void {
  const address = literalAddress(url);
  const addressReason = address === undefined ? undefined : addressRefusal(address, policy);
  if (addressReason) throw refused(url, `${address} is ${addressReason}`, redirectedFrom);
  if (url.protocol === 'https:') return;
  // As for baseUrl: plain http would carry the link's signature in clear text, so only to loopback.
  if (url.protocol === 'http:' && policy.allowLoopback && isLoopback(url.hostname)) return;
  throw refused(url, `expected https (plain http only to loopback, when the target's baseUrl is loopback too), got ${url.protocol}`, redirectedFrom);
}

const systemResolve: ResolveHost = (hostname, options) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });

/**
 * A `lookup` for the download's connection: it refuses the host when any of its addresses
 * is refused, and the connection uses exactly the addresses checked, so a DNS answer that
 * changes between a check and the connect (rebinding) cannot slip past.
 */
export function guardedLookup(url: URL, policy: DownloadHostPolicy, redirectedFrom: string | undefined, resolveHost: ResolveHost = systemResolve): LookupFunction {
  return (hostname, options, callback) => {
    resolveHost(hostname, options).then(
      (addresses) => {
        const first = addresses[0];
        if (!first) {
          callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
          return;
        }
        for (const { address } of addresses) {
          const reason = addressRefusal(address, policy);
          // Plain http was let through for a loopback name: every address must be loopback too.
          const cleartext = url.protocol === 'http:' && !LOOPBACK.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
          if (reason || cleartext) {
            callback(refused(url, `${hostname} resolves to ${address}, ${reason ?? 'not a loopback address, and the link is plain http'}`, redirectedFrom), '', 0);
            return;
          }
        }
        if (options.all) callback(null, [...addresses]);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

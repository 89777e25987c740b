import type { AddressInfo, Server } from 'node:net';

/** `host:port` as a URL needs it (an IPv6 address in brackets). */
export function urlAuthority(address: AddressInfo): string {
  return `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

/** Listens on host:port (0: any free port), failing if it cannot, and answers the URL authority it got. */
export async function listenOn(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return urlAuthority(server.address() as AddressInfo);
}

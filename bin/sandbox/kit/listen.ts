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

/** Concurrent requests a simulator has seen: how many are open now, and the most ever open at once. */
export interface CallCounter {
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly total: number;
  /** Starts counting the maximum afresh (requests open now still count). */
  resetMax(): void;
}

/** Counts the server's requests from arrival until their response is finished or abandoned. */
export function countCalls(server: Server): CallCounter {
  let inFlight = 0;
  let maxInFlight = 0;
  let total = 0;
  server.on('request', (_request: unknown, response: { once(event: 'close', listener: () => void): void }) => {
    inFlight += 1;
    total += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.once('close', () => {
      inFlight -= 1;
    });
  });
  return {
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get total() {
      return total;
    },
    resetMax: () => {
      maxInFlight = inFlight;
    },
  };
}

import { isIP, Socket } from 'node:net';

export interface ConnectionWatch {
  /** The host of every TCP connection attempted in this process, as given to connect(). */
  readonly hosts: string[];
  restore(): void;
}

function isLoopbackAddress(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

function connectHost(args: unknown[]): string {
  // net.connect() hands Socket#connect its already-normalized [options, callback] array.
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (typeof first === 'object' && first !== null) {
    const { host, path } = first as { host?: unknown; path?: unknown };
    if (typeof path === 'string') return path;
    return typeof host === 'string' ? host : 'localhost';
  }
  return typeof args[1] === 'string' ? args[1] : 'localhost';
}

/**
 * Records every outgoing connection and stops, before a packet is sent, any to an IP
 * address that is not loopback: a test about refused download hosts must never reach the
 * cloud metadata service, not even while the code under test still fails to refuse it.
 * Host names pass through: their resolution is what the code under test decides.
 */
export function watchConnections(): ConnectionWatch {
  const hosts: string[] = [];
  const original = Socket.prototype.connect as (this: Socket, ...args: unknown[]) => Socket;
  const spy = jest.spyOn(Socket.prototype, 'connect').mockImplementation(function (this: Socket, ...args: unknown[]) {
    const host = connectHost(args);
    hosts.push(host);
    if (isIP(host) !== 0 && !isLoopbackAddress(host)) {
      process.nextTick(() => this.destroy(new Error(`the test does not connect to ${host}`)));
      return this;
    }
    return original.apply(this, args);
  } as typeof Socket.prototype.connect);
  return { hosts, restore: () => spy.mockRestore() };
}

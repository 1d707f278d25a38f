/**
 * Where the broker is: addresses as the operator writes them, the default
 * local address, and whether something listens there.
 */
import { accessSync, constants } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, join } from 'node:path';

/** The address used when no broker is configured. */
export const defaultBrokerHostPort = '127.0.0.1:4222';

/** Whether something accepts TCP connections at host:port (within `timeoutMs`). */
export function isListening(hostPort: string, timeoutMs = 1000): Promise<boolean> {
  const [host, portText] = splitHostPort(hostPort);
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: Number(portText) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Finds an executable named `name` on PATH (and the usual sbin folders), or undefined. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Turns `host:port`, `nats://host:port` or `port` into a NATS server URL. */
export function toServerUrl(address: string): string {
  const a = address.trim();
  if (/^(nats|tls|ws|wss):\/\//.test(a)) return a;
  if (/^\d+$/.test(a)) return `nats://127.0.0.1:${a}`;
  return `nats://${a.startsWith(':') ? '127.0.0.1' + a : a}`;
}

/** Splits `host:port` (host defaults to 127.0.0.1). */
export function splitHostPort(hostPort: string): [string, string] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i) || '127.0.0.1', hostPort.slice(i + 1)];
}

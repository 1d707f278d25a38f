/**
 * The benchmark's own nats-server: started from PATH (or /usr/sbin) on a free
 * loopback port with a log in a temporary folder, killed when the bench ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { findExecutable } from '@steward/node';

/** A running benchmark broker. */
export interface BenchNatsServer {
  /** `127.0.0.1:<port>`, the form steward's brokerAddresses take. */
  readonly hostPort: string;
  /** `nats://127.0.0.1:<port>`, for nats.js. */
  readonly url: string;
  readonly pid: number;
  readonly version: string;
  /** SIGTERM, then SIGKILL after 3 s. */
  stop(): Promise<void>;
}

/** Thrown when nats-server is not installed. */
export class NatsServerMissingError extends Error {
  constructor(options?: ErrorOptions) {
    super('nats-server is not on PATH nor in /usr/sbin: install it (e.g. apt-get install nats-server) to run the benchmark', options);
    this.name = 'NatsServerMissingError';
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** Reads the server's INFO greeting, or undefined when nothing NATS-like answers. */
function natsInfo(port: number, timeoutMs = 1000): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect({ port, host: '127.0.0.1' });
    const done = (v: Record<string, unknown> | undefined) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      try {
        done(text.startsWith('INFO ') ? (JSON.parse(text.slice(5, end)) as Record<string, unknown>) : undefined);
      } catch {
        done(undefined);
      }
    });
  });
}

/**
 * Starts nats-server on a free port and resolves once it greets clients.
 *
 * @throws {@link NatsServerMissingError} when nats-server is not installed.
 */
export async function startNatsServer(dir: string): Promise<BenchNatsServer> {
  const bin = findExecutable('nats-server');
  if (!bin) throw new NatsServerMissingError();
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const logFile = join(dir, 'nats-server.log');
    const fd = openSync(logFile, 'a');
    const child: ChildProcess = spawn(bin, ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const deadline = Date.now() + 10_000;
    let info: Record<string, unknown> | undefined;
    while (child.exitCode === null && Date.now() < deadline && !(info = await natsInfo(port))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (info) {
      const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      return {
        hostPort: `127.0.0.1:${port}`,
        url: `nats://127.0.0.1:${port}`,
        pid: child.pid ?? 0,
        version: typeof info.version === 'string' ? info.version : 'unknown',
        async stop() {
          if (child.exitCode !== null) return;
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(t);
        },
      };
    }
    child.kill('SIGKILL');
    // The port may have been taken between picking and binding: try another one.
    if (attempt >= 3) throw new Error(`nats-server did not start; see ${logFile}`);
  }
}

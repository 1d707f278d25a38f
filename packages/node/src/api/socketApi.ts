/**
 * The local API: a unix socket (mode 0600) that `steward send`, `steward
 * status`, `steward jobs` and `steward nodes` talk to, speaking the
 * newline-delimited JSON of socketProtocol.ts. A process under the
 * `inputs` supervisor, beside the inmsg.txt watcher: both are ways for an
 * operator to hand messages to the node, and both journal a message before
 * they acknowledge it.
 *
 * A bad request is answered with an `error` line and costs nothing else: the
 * connection, the other requests on it and the node go on.
 */
import { chmodSync, lstatSync, readlinkSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices } from '../node/services.js';
import { ApiConnection } from './apiConnection.js';
import { ErrorCode } from './socketProtocol.js';
import { chooseSocketPath, maxSocketPathBytes, SocketPathError } from './socketPath.js';
import { linkSocket, removeStaleSocket } from './staleSocket.js';

/** Options of {@link SocketApi}. @internal */
export interface SocketApiOptions {
  services: NodeServices;
  /** Reports a failure that should restart this process. */
  fail: (err: unknown) => void;
}

/** Connections served at once; more are refused with an error line. */
const maxConnections = 1024;

/** @internal */
export class SocketApi {
  /** The socket's path, once listening. */
  path?: string;
  private readonly s: NodeServices;
  private server?: Server;
  private link?: string;
  private ino?: number;
  private stopped = false;
  private readonly connections = new Set<ApiConnection>();

  constructor(private readonly opts: SocketApiOptions) {
    this.s = opts.services;
  }

  /**
   * Creates the socket and listens. A path that cannot be used for good
   * (see {@link SocketPathError}) is reported and the node goes on without
   * its local API; other errors reject, so the supervisor restarts us.
   */
  async start(): Promise<void> {
    const c = this.s.config;
    const placement = chooseSocketPath({ node: c.node, nodeFolder: c.nodeFolder, configured: c.socketPath || undefined });
    if (placement.fallbackReason)
      this.s.log.warn(`socket API: ${placement.fallbackReason}; the socket goes in the node folder instead`, { path: placement.path });
    try {
      if (Buffer.byteLength(placement.path) > maxSocketPathBytes)
        throw new SocketPathError(`${placement.path} is longer than the ${maxSocketPathBytes} bytes a unix socket path may have`);
      await removeStaleSocket(placement.path, true, this.s.log);
    } catch (err) {
      if (!(err instanceof SocketPathError)) throw err;
      this.s.errors.report({
        kind: FailureKind.BadInput,
        text: `socket API not started: ${err.message}; steward send cannot reach this node until this is fixed (see --socketPath)`,
        error: err,
      });
      return;
    }
    const server = createServer((sock) => this.accept(sock));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // The socket is created by bind() inside listen(): a restrictive umask means it is never,
      // even for a moment, connectable by other users. chmod below makes the mode explicit.
      const umask = process.umask(0o177);
      try {
        server.listen(placement.path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    chmodSync(placement.path, 0o600);
    this.ino = lstatSync(placement.path).ino;
    this.path = placement.path;
    server.on('error', (err) => this.opts.fail(err));
    if (this.stopped) return this.stop();
    if (placement.link) this.link = await linkSocket(placement.link, placement.path, this.s.log);
    this.s.log.info(`socket API listening on ${placement.path}`, this.link ? { link: this.link } : {});
  }

  /** Closes the socket and every connection, and removes the socket file and its link. */
  stop(): void {
    this.stopped = true;
    for (const conn of this.connections) conn.close();
    this.connections.clear();
    this.server?.close();
    // Synchronous: stop() may be the last thing the node does before it exits.
    if (this.path && this.ino !== undefined) {
      try {
        if (lstatSync(this.path).ino === this.ino) unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
    if (this.link && this.path) {
      try {
        if (readlinkSync(this.link) === this.path) unlinkSync(this.link);
      } catch {
        // already gone
      }
    }
  }

  private accept(sock: Socket): void {
    if (this.stopped) {
      sock.destroy();
      return;
    }
    if (this.connections.size >= maxConnections) {
      sock.end(
        JSON.stringify({ type: 'error', code: ErrorCode.Internal, error: `too many connections (${maxConnections}); try again later` }) +
          '\n',
      );
      return;
    }
    const conn = new ApiConnection(this.s, sock, () => this.connections.delete(conn));
    this.connections.add(conn);
  }
}

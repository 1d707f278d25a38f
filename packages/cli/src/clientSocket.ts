/**
 * The client side of the local API: finds the socket of the local node,
 * connects, and carries requests and their responses (newline-delimited
 * JSON, several requests at once, told apart by `reqId`).
 */
import { createConnection, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { parseResponseLine, runtimeSocketPath, socketFileName, type ReqId, type SocketResponse } from '@steward/node/client';
import { ConnectionLostError, NoLocalNodeError } from './errors.js';

/** Where to look for the local node's socket. */
export interface SocketLocation {
  /** An explicit socket path (`--socket`, `STEWARD_SOCKET`): only this one is tried. */
  socket?: string | undefined;
  /** The node's folder (`--nodeFolder`). @defaultValue the current directory */
  nodeFolder?: string | undefined;
  /** The node's name (`--node`): also look in `$XDG_RUNTIME_DIR/steward/<node>.sock`. */
  node?: string | undefined;
}

/** The options every client command takes to find its node. */
export function clientOptions<T>(y: Argv<T>) {
  return y
    .option('socket', {
      type: 'string',
      alias: 'socketPath',
      describe: 'the socket of the local node (also STEWARD_SOCKET)',
      defaultDescription: '<nodeFolder>/steward.sock, then $XDG_RUNTIME_DIR/steward/<node>.sock',
    })
    .option('nodeFolder', { type: 'string', describe: 'the folder of the local node', defaultDescription: 'current directory' })
    .option('node', { type: 'string', describe: 'name of the local node: finds its socket in $XDG_RUNTIME_DIR/steward/' })
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output: one JSON object per line' });
}

/** The names of the options of {@link clientOptions}. */
export const clientOptionNames = ['socket', 'socketPath', 'nodeFolder', 'node', 'json'];

/** The socket paths to try, in order. */
export function socketCandidates(loc: SocketLocation, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string[] {
  if (loc.socket) return [resolve(cwd, loc.socket)];
  const list = [join(resolve(cwd, loc.nodeFolder ?? '.'), socketFileName)];
  const xdg = loc.node ? runtimeSocketPath(loc.node, env) : undefined;
  if (xdg && !list.includes(xdg)) list.push(xdg);
  return list;
}

/**
 * Connects to the first candidate socket a node listens on.
 *
 * @throws {@link NoLocalNodeError} saying, for each place looked at, why not.
 */
export async function connectToNode(loc: SocketLocation): Promise<NodeClient> {
  const reasons: string[] = [];
  for (const path of socketCandidates(loc)) {
    try {
      const sock = await connect(path);
      return new NodeClient(sock, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') reasons.push(`no socket at ${path}`);
      else if (code === 'ECONNREFUSED') reasons.push(`no node listens on ${path} (left by a node that stopped?)`);
      else if (code === 'EACCES' || code === 'EPERM')
        reasons.push(`permission denied on ${path}: the socket belongs to another user; run steward as the node's user`);
      else reasons.push(`${path}: ${(err as Error).message}`);
    }
  }
  throw new NoLocalNodeError(
    `no local steward node to talk to: ${reasons.join('; ')}. Start one (steward start), or say where it runs: ` +
      '--nodeFolder <folder>, --node <name> or --socket <path>',
  );
}

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    sock.once('connect', () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

interface Pending {
  onResponse: (r: SocketResponse) => void;
  isFinal: (r: SocketResponse) => boolean;
  resolve: (r: SocketResponse) => void;
  reject: (err: unknown) => void;
}

/** A connection to the local node. */
export class NodeClient {
  private nextId = 1;
  private readonly pending = new Map<ReqId, Pending>();
  private buffer = '';
  private ended = false;

  constructor(
    private readonly sock: Socket,
    /** The socket this client is connected to. */
    readonly path: string,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', (err) => this.end(err));
    sock.on('close', () => this.end());
  }

  /**
   * Sends one request. `onResponse` sees every response to it; the promise
   * resolves with the response for which `isFinal` is true (by default the
   * first one).
   *
   * @throws {@link ConnectionLostError} when the connection ends first.
   */
  request(
    req: Record<string, unknown>,
    opts: { onResponse?: (r: SocketResponse) => void; isFinal?: (r: SocketResponse) => boolean } = {},
  ): Promise<SocketResponse> {
    if (this.ended) return Promise.reject(new ConnectionLostError(`the connection to the local node (${this.path}) is closed`));
    const reqId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(reqId, {
        onResponse: opts.onResponse ?? (() => undefined),
        isFinal: opts.isFinal ?? (() => true),
        resolve,
        reject,
      });
      this.sock.write(JSON.stringify({ ...req, reqId }) + '\n');
    });
  }

  /** Stops reading responses (the node then holds them, or drops what it may: `watch`); {@link resume} reads on. */
  pause(): void {
    this.sock.pause();
  }

  /** Reads responses again after {@link pause}. */
  resume(): void {
    this.sock.resume();
  }

  /** Closes the connection. Requests still waiting are rejected. */
  close(): void {
    this.sock.end();
    this.sock.destroy();
    this.end();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim() !== '') this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let r: SocketResponse;
    try {
      r = parseResponseLine(line);
    } catch (err) {
      this.end(err);
      return;
    }
    // Every request carries a reqId; an error without one answers the oldest request.
    const key = r.reqId ?? this.pending.keys().next().value;
    const p = key === undefined ? undefined : this.pending.get(key);
    if (!p) return;
    p.onResponse(r);
    if (p.isFinal(r)) {
      this.pending.delete(key!);
      p.resolve(r);
    }
  }

  private end(err?: unknown): void {
    if (this.ended && this.pending.size === 0) return;
    this.ended = true;
    const why = err instanceof Error ? `: ${err.message}` : '';
    for (const p of this.pending.values())
      p.reject(new ConnectionLostError(`lost the connection to the local node (${this.path})${why}; did it stop?`, { cause: err }));
    this.pending.clear();
  }
}

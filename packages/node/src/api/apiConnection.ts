/**
 * One client connection of the local API: splits the newline-delimited JSON
 * into requests, serves them (several at once), and writes the responses. A
 * bad request is answered with an `error` line and costs nothing else.
 */
import type { Socket } from 'node:net';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices } from '../node/services.js';
import { stewardVersion } from '../version.js';
import { jobsOf, nodesOf, statusOf } from './queries.js';
import { serveCancel } from './cancelRequest.js';
import { serveRetry } from './retryRequest.js';
import { SendSession, type SendClient } from './sendSession.js';
import { WatchSession, type WatchClient } from './watchSession.js';
import {
  ErrorCode,
  maxRequestLineBytes,
  parseRequestLine,
  RequestError,
  withReqId,
  type ReqId,
  type SocketRequest,
  type SocketResponse,
} from './socketProtocol.js';

/** A client that stops reading gets disconnected once this much output waits for it. */
const maxPendingOutputBytes = 64 * 1024 * 1024;
/** One client connection: splits lines, serves requests (several at once), writes responses. */
/** @internal */
export class ApiConnection implements SendClient, WatchClient {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Writes are held until the event loop turns (see batchWrites). */
  private corked = false;
  /** Inside an over-long line: drop bytes up to its end. */
  private skipping = false;
  /** Whether the connection has closed (responses are dropped then). */
  closed = false;
  /** Run when the connection closes (a `send` stops listening). */
  readonly cleanups = new Set<() => void>();

  constructor(
    private readonly s: NodeServices,
    private readonly sock: Socket,
    private readonly onClose: () => void,
  ) {
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', () => this.close());
    sock.on('close', () => this.close());
  }

  /** Closes the connection and stops what its requests still do. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.cleanups) c();
    this.cleanups.clear();
    this.sock.destroy();
    this.onClose();
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const part = chunk.subarray(start, nl);
      if (this.skipping) this.skipping = false;
      else if (this.size + part.length > maxRequestLineBytes) this.lineTooLong();
      else this.onLine(Buffer.concat([...this.chunks, part]).toString('utf8'));
      this.chunks = [];
      this.size = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length === 0 || this.skipping) return;
    if (this.size + rest.length > maxRequestLineBytes) {
      this.lineTooLong();
      this.skipping = true;
      this.chunks = [];
      this.size = 0;
      return;
    }
    this.chunks.push(rest);
    this.size += rest.length;
  }

  private lineTooLong(): void {
    this.respond({
      type: 'error',
      code: ErrorCode.LineTooLong,
      error: `request line longer than ${maxRequestLineBytes} bytes; it was skipped`,
    });
  }

  private onLine(line: string): void {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim() === '') return;
    let req: SocketRequest;
    try {
      req = parseRequestLine(text);
    } catch (err) {
      this.fail(err, undefined, 'a request');
      return;
    }
    this.s.log.debug(`socket API request ${req.op}`, req.reqId !== undefined ? { reqId: req.reqId } : {});
    this.serve(req).catch((err: unknown) => this.fail(err, req.reqId, req.op));
  }

  private async serve(req: SocketRequest): Promise<void> {
    switch (req.op) {
      case 'send':
        return new SendSession(this.s, this, req).run();
      case 'status':
        return this.respond(statusOf(this.s, req));
      case 'jobs':
        return this.respond(jobsOf(this.s, req));
      case 'nodes':
        return this.respond(nodesOf(this.s, req));
      case 'watch':
        return new WatchSession(this.s, this, req).run();
      case 'cancel':
        return serveCancel(this.s, req, (r) => this.respond(r));
      case 'retry':
        return serveRetry(this.s, req, (r) => this.respond(r));
      case 'ping':
        return this.respond({
          type: 'pong',
          ...withReqId(req.reqId),
          node: this.s.config.node,
          version: stewardVersion,
          central: this.s.config.centralNodeName,
          pid: process.pid,
        });
    }
  }

  /** Answers a request that could not be served; a failure that is not the client's fault is reported too. */
  private fail(err: unknown, reqId: ReqId | undefined, what: string): void {
    if (err instanceof RequestError) {
      this.respond({
        type: 'error',
        ...withReqId(err.reqId ?? reqId),
        code: err.code,
        error: err.message,
        ...(err.problems.length ? { problems: err.problems } : {}),
      });
      if (err.code === ErrorCode.Internal)
        this.s.errors.report({ kind: FailureKind.ActorCrashed, text: `socket API: ${err.message}`, error: err });
      return;
    }
    this.s.errors.report({ kind: FailureKind.ActorCrashed, text: `socket API failed on ${what}`, error: err });
    this.respond({
      type: 'error',
      ...withReqId(reqId),
      code: ErrorCode.Internal,
      error: `the node failed on this request: ${(err as Error)?.message ?? String(err)}`,
    });
  }

  /** Bytes written to the client but not yet taken by the kernel. */
  backlog(): number {
    return this.sock.writableLength;
  }

  /**
   * Holds this turn's writes and sends them together when the event loop
   * turns: a watch writes many small lines, one system call each otherwise.
   */
  batchWrites(): void {
    if (this.corked || this.closed) return;
    this.corked = true;
    this.sock.cork();
    setImmediate(() => {
      this.corked = false;
      this.sock.uncork();
    });
  }

  /** Calls `fn` once the client has read what was written. */
  onceDrained(fn: () => void): void {
    this.sock.once('drain', fn);
  }

  /** Writes one response line; a client that does not read its responses is disconnected. */
  respond(r: SocketResponse): void {
    if (this.closed) return;
    this.sock.write(JSON.stringify(r) + '\n');
    if (this.sock.writableLength > maxPendingOutputBytes) {
      this.s.log.warn('socket API: a client does not read its responses; disconnected');
      this.close();
    }
  }
}

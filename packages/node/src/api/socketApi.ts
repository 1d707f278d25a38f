/**
 * The local API: a unix socket (mode 0600) that `steward send`, `steward
 * status`, `steward jobs` and `steward nodes` talk to, speaking the
 * newline-delimited JSON of {@link ./socketProtocol.ts}. A process under the
 * `inputs` supervisor, beside the inmsg.txt watcher: both are ways for an
 * operator to hand messages to the node, and both journal a message before
 * they acknowledge it.
 *
 * A bad request is answered with an `error` line and costs nothing else: the
 * connection, the other requests on it and the node go on.
 */
import { chmodSync, lstatSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { MessageKind, subjectOf, type InboxRecord, type MessageSpec, type OutboxRecord, type WireMessage } from '@steward/core';
import { FailureKind } from '../node/errorKernel.js';
import type { DeliveryEvent, ExecutionEvent } from '../node/nodeEvents.js';
import { expectsReplyMessage, sentResult, type SentFacts } from './sendResult.js';
import { replyMethodOf } from '../execution/replyMessage.js';
import type { NodeServices } from '../node/services.js';
import {
  ErrorCode,
  maxRequestLineBytes,
  outcomeOf,
  parseRequestLine,
  RequestError,
  SendStatus,
  type JobsRequest,
  type NodesRequest,
  type ReceivedStatus,
  type ReqId,
  type SendRequest,
  type SendResult,
  type SentStatus,
  type SocketRequest,
  type SocketResponse,
  type StatusRequest,
} from './socketProtocol.js';
import { chooseSocketPath, maxSocketPathBytes, SocketPathError } from './socketPath.js';
import { stewardVersion } from '../version.js';

/** Options of {@link SocketApi}. @internal */
export interface SocketApiOptions {
  services: NodeServices;
  /** Reports a failure that should restart this process. */
  fail: (err: unknown) => void;
}

/** A client that stops reading gets disconnected once this much output waits for it. */
const maxPendingOutputBytes = 64 * 1024 * 1024;
/** Connections served at once; more are refused with an error line. */
const maxConnections = 1024;
/** Shortest id prefix `status` resolves. */
const minIdPrefix = 6;

/**
 * Seconds after which a node that has not said hello counts as stale, unless
 * the request says: three missed hellos, at least 10 s.
 */
export function defaultStaleAfter(sayHelloInterval: number): number {
  return sayHelloInterval > 0 ? Math.max(3 * sayHelloInterval, 10) : 90;
}

/**
 * The ACK of a CommandACK comes only when the command has finished, and a
 * resend while it runs is answered only then: with the node's short default
 * ACK timeout, a command running longer than `timeout × (retries + 1)` would
 * be reported expired although it ran. So a CommandACK from the socket that
 * does not set `timeout` waits its `methodTimeout` plus the default timeout.
 * An unreachable node is still found at once (the broker answers "no responders").
 */
export function withRunTimeAckTimeout(
  spec: MessageSpec,
  defaults: { defaultMessageTimeout: number; defaultMethodTimeout: number },
): MessageSpec {
  if (spec.timeout !== undefined || spec.commandOrEvent !== MessageKind.CommandACK) return spec;
  const run = spec.methodTimeout ?? defaults.defaultMethodTimeout;
  if (run < 0) return spec;
  return { ...spec, timeout: Math.max(defaults.defaultMessageTimeout, run + defaults.defaultMessageTimeout) };
}

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
      await this.removeStale(placement.path, true);
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
    if (placement.link) await this.makeLink(placement.link, placement.path);
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

  /**
   * Removes a socket left by an earlier run that was killed. A path that is
   * not a socket, or a socket another process still listens on, is left alone.
   */
  private async removeStale(path: string, isOwnSocket: boolean): Promise<void> {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    const what = isOwnSocket ? 'the socket path' : 'the link path';
    if (!st.isSocket())
      throw new SocketPathError(`${what} ${path} exists and is not a socket; it is left alone (remove it, or choose another --socketPath)`);
    const probe = await probeSocket(path);
    if (probe.state === 'live')
      throw new SocketPathError(`another process listens on ${path} (a second node with the same name or folder?); it is left alone`);
    if (probe.state === 'unknown') throw new SocketPathError(`cannot check the existing socket ${path}: ${probe.reason}`);
    unlinkSync(path);
    this.s.log.info('removed a stale socket left by an earlier run', { path });
  }

  /** Points `<nodeFolder>/steward.sock` at the socket in the runtime directory, so clients in the folder find it. */
  private async makeLink(link: string, target: string): Promise<void> {
    try {
      let st;
      try {
        st = lstatSync(link);
      } catch {
        st = undefined;
      }
      if (st?.isSymbolicLink()) unlinkSync(link);
      else if (st) await this.removeStale(link, false);
      symlinkSync(target, link);
      this.link = link;
    } catch (err) {
      this.s.log.warn(`socket API: could not create the link ${link} → ${target}: ${(err as Error).message}; use --socket ${target}`);
    }
  }
}

/** What {@link probeSocket} found: a process listening, nobody, or an error that says neither. */
type Probe = { state: 'live' } | { state: 'stale' } | { state: 'unknown'; reason: string };

/** Whether a process listens on the socket at `path`. */
function probeSocket(path: string): Promise<Probe> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    // A listener that never answers is still a listener: better to leave its socket alone.
    const timer = setTimeout(() => {
      c.destroy();
      resolve({ state: 'live' });
    }, 2000);
    c.once('connect', () => {
      clearTimeout(timer);
      c.destroy();
      resolve({ state: 'live' });
    });
    c.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(
        err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? { state: 'stale' } : { state: 'unknown', reason: err.code ?? err.message },
      );
    });
  });
}

/** One message a `send` request waits for. */
interface Tracked {
  id: string;
  toNode: string;
  facts?: SentFacts;
  reply?: WireMessage;
  result?: SendResult;
  lastProgress?: string;
  timer?: NodeJS.Timeout;
}

type NodeEvent = { kind: 'delivery'; e: DeliveryEvent } | { kind: 'execution'; e: ExecutionEvent };

/** One client connection: splits lines, serves requests (several at once), writes responses. */
class ApiConnection {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Inside an over-long line: drop bytes up to its end. */
  private skipping = false;
  private closed = false;
  private readonly cleanups = new Set<() => void>();

  constructor(
    private readonly s: NodeServices,
    private readonly sock: Socket,
    private readonly onClose: () => void,
  ) {
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', () => this.close());
    sock.on('close', () => this.close());
  }

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
        return this.send(req);
      case 'status':
        return this.respond(this.status(req));
      case 'jobs':
        return this.respond(this.jobs(req));
      case 'nodes':
        return this.respond(this.nodes(req));
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

  private respond(r: SocketResponse): void {
    if (this.closed) return;
    this.sock.write(JSON.stringify(r) + '\n');
    if (this.sock.writableLength > maxPendingOutputBytes) {
      this.s.log.warn('socket API: a client does not read its responses; disconnected');
      this.close();
    }
  }

  /** `send`: journal, answer `accepted`, then (with `wait`) stream progress and results. */
  private async send(req: SendRequest): Promise<void> {
    const s = this.s;
    // Listen before submitting: a fast delivery must not finish between the commit and our listening.
    const buffered: NodeEvent[] = [];
    // Set once the ids are known; until then events wait in `buffered`.
    const router: { route?: (ev: NodeEvent) => void } = {};
    const deliver = (ev: NodeEvent) => (router.route ? router.route(ev) : buffered.push(ev));
    const onDelivery = (e: DeliveryEvent) => deliver({ kind: 'delivery', e });
    const onExecution = (e: ExecutionEvent) => deliver({ kind: 'execution', e });
    const timers = new Set<NodeJS.Timeout>();
    const unlisten = () => {
      s.events.off('delivery', onDelivery);
      s.events.off('execution', onExecution);
      for (const t of timers) clearTimeout(t);
      this.cleanups.delete(unlisten);
    };
    if (req.wait) {
      s.events.on('delivery', onDelivery);
      s.events.on('execution', onExecution);
      this.cleanups.add(unlisten);
    }
    let results;
    try {
      results = await s.submit(req.messages.map((spec) => ({ spec: withRunTimeAckTimeout(spec, s.config), source: 'socket' })));
    } catch (err) {
      unlisten();
      throw new RequestError(ErrorCode.Internal, `could not journal the messages; none was accepted: ${(err as Error).message}`, {
        cause: err,
        reqId: req.reqId,
      });
    }
    const accepted = results.map((r, index) => {
      const spec = req.messages[index]!;
      return { index, id: r.id, toNode: spec.toNode, method: spec.method, subject: subjectOf(spec) };
    });
    for (const a of accepted) s.log.info('accepted from the socket API', { id: a.id, subject: a.subject });
    this.respond({
      type: 'accepted',
      ...withReqId(req.reqId),
      messages: accepted,
      ...(req.warnings.length ? { warnings: req.warnings } : {}),
    });
    if (!req.wait || this.closed) {
      unlisten();
      return;
    }

    const tracked = new Map<string, Tracked>(accepted.map((a) => [a.id, { id: a.id, toNode: a.toNode }]));
    const counts = { total: accepted.length, ok: 0, failed: 0, expired: 0, noReply: 0 };
    let finished = 0;
    const finishOne = (t: Tracked, r: SendResult) => {
      if (t.result) return;
      t.result = r;
      clearTimeout(t.timer);
      this.respond({ type: 'result', ...withReqId(req.reqId), ...r });
      counts[outcomeOf(r.status)]++;
      if (++finished === tracked.size) {
        unlisten();
        this.respond({ type: 'done', ...withReqId(req.reqId), ...counts });
      }
    };
    const settle = (t: Tracked) => {
      if (t.result || !t.facts) return;
      const r = sentResult(t.facts, t.reply);
      if (r) return finishOne(t, r);
      if (t.timer) return;
      // Delivered; the reply message is still to come.
      const methodTimeout = t.facts.message.methodTimeout;
      const wait = req.replyTimeout ?? (methodTimeout < 0 ? -1 : methodTimeout + 60);
      if (wait < 0) return;
      t.timer = setTimeout(() => {
        timers.delete(t.timer!);
        const rec = s.journal.findReplyTo(t.id);
        if (rec) {
          t.reply = rec.message;
          return settle(t);
        }
        finishOne(t, {
          id: t.id,
          toNode: t.toNode,
          method: t.facts!.message.method,
          attempts: t.facts!.attempts,
          status: SendStatus.NoReply,
          error: `delivered, but no reply came within ${wait}s; it may still come: steward status ${t.id}`,
        });
      }, wait * 1000);
      timers.add(t.timer);
    };
    const route = (ev: NodeEvent): void => {
      if (ev.kind === 'delivery') {
        const e = ev.e;
        const t = tracked.get(e.id);
        if (!t || t.result) return;
        if (e.state === 'delivered' || e.state === 'expired') {
          t.facts = {
            message: e.message,
            state: e.state,
            attempts: e.attempts,
            ...(e.reply ? { ack: e.reply } : {}),
            ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
          };
          settle(t);
        } else if (t.lastProgress !== `${e.state}/${e.attempts}`) {
          t.lastProgress = `${e.state}/${e.attempts}`;
          this.respond({
            type: 'progress',
            ...withReqId(req.reqId),
            id: e.id,
            toNode: t.toNode,
            state: e.state,
            attempts: e.attempts,
            ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
          });
        }
      } else {
        const m = ev.e.message;
        const t = m.previousMessageId === undefined ? undefined : tracked.get(m.previousMessageId);
        // Only the node the request went to can answer it, with the reply method the request asked for (as the reply guard checks).
        if (!t || t.result || t.reply || m.fromNode !== t.toNode) return;
        const request = s.journal.getOutbox(t.id)?.message;
        if (!request || m.method !== replyMethodOf(request)) return;
        t.reply = m;
        settle(t);
      }
    };
    for (const ev of buffered.splice(0)) route(ev);
    router.route = route;
  }

  private status(req: StatusRequest): SocketResponse {
    const j = this.s.journal;
    let id = req.id;
    if (!j.getOutbox(id) && !j.getInbox(id)) {
      const ids = id.length >= minIdPrefix ? j.findIdsByPrefix(id, 5) : [];
      if (ids.length > 1)
        throw new RequestError(ErrorCode.Ambiguous, `id prefix "${id}" matches several messages: ${ids.join(', ')}`, { reqId: req.reqId });
      if (ids.length === 0)
        throw new RequestError(
          ErrorCode.NotFound,
          `no message with id ${id} in the journal of node ${this.s.config.node} (finished messages are kept ${this.s.config.journalRetentionDays} days)`,
          { reqId: req.reqId },
        );
      id = ids[0]!;
    }
    const out = j.getOutbox(id);
    const inb = j.getInbox(id);
    return {
      type: 'status',
      ...withReqId(req.reqId),
      id,
      ...(out ? { sent: this.sentStatus(out) } : {}),
      ...(inb ? { received: receivedStatus(inb) } : {}),
    };
  }

  private sentStatus(rec: OutboxRecord): SentStatus {
    const m = rec.message;
    const facts: SentFacts = {
      message: m,
      state: rec.state,
      attempts: rec.attempts,
      ...(rec.reply ? { ack: rec.reply } : {}),
      ...(rec.lastError !== undefined ? { lastError: rec.lastError } : {}),
    };
    const reply = rec.state === 'delivered' && expectsReplyMessage(m) ? this.s.journal.findReplyTo(rec.id) : undefined;
    const result = sentResult(facts, reply?.message);
    return {
      id: rec.id,
      subject: rec.subject,
      toNode: m.toNode,
      fromNode: m.fromNode,
      method: m.method,
      commandOrEvent: m.commandOrEvent,
      data: m.data,
      state: rec.state,
      attempts: rec.attempts,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      ...(rec.finishedAt !== undefined ? { finishedAt: rec.finishedAt } : {}),
      ...(rec.lastError !== undefined ? { lastError: rec.lastError } : {}),
      ...(rec.reply ? { ack: rec.reply } : {}),
      ...(result ? { result } : {}),
    };
  }

  private jobs(req: JobsRequest): SocketResponse {
    const recs = this.s.journal.recentOutbox({
      ...(req.states ? { states: req.states } : {}),
      ...(req.node !== undefined ? { toNode: req.node } : {}),
      ...(req.method !== undefined ? { method: req.method } : {}),
      // SayHello goes out every few seconds: it would bury the operator's own messages.
      excludeMethods: req.all || req.method !== undefined ? [] : ['SayHello'],
      limit: req.limit,
    });
    return {
      type: 'jobs',
      ...withReqId(req.reqId),
      node: this.s.config.node,
      jobs: recs.map((r) => ({
        id: r.id,
        toNode: r.message.toNode,
        method: r.message.method,
        subject: r.subject,
        state: r.state,
        attempts: r.attempts,
        createdAt: r.createdAt,
        ...(r.finishedAt !== undefined ? { finishedAt: r.finishedAt } : {}),
        ...(r.reply ? { ackStatus: r.reply.status } : {}),
        ...(r.reply?.exitCode !== undefined ? { exitCode: r.reply.exitCode } : {}),
        ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
      })),
    };
  }

  private nodes(req: NodesRequest): SocketResponse {
    const c = this.s.config;
    const staleAfter = req.staleAfter ?? defaultStaleAfter(c.sayHelloInterval);
    const now = Date.now();
    return {
      type: 'nodes',
      ...withReqId(req.reqId),
      node: c.node,
      central: c.centralNodeName,
      isCentral: c.node === c.centralNodeName,
      staleAfter,
      nodes: this.s.journal.listNodes().map((n) => {
        const ageSeconds = Math.max(0, (now - n.lastSeen) / 1000);
        const version = /^steward (\S+)/.exec(n.info)?.[1];
        return {
          name: n.name,
          alive: ageSeconds <= staleAfter,
          lastSeen: n.lastSeen,
          firstSeen: n.firstSeen,
          ageSeconds: Math.round(ageSeconds * 10) / 10,
          ...(version ? { version } : {}),
          info: n.info,
        };
      }),
    };
  }
}

function receivedStatus(rec: InboxRecord): ReceivedStatus {
  const m = rec.message;
  return {
    id: rec.id,
    subject: rec.subject,
    fromNode: m.fromNode,
    method: m.method,
    commandOrEvent: m.commandOrEvent,
    data: m.data,
    state: rec.state,
    receivedAt: rec.receivedAt,
    ...(rec.startedAt !== undefined ? { startedAt: rec.startedAt } : {}),
    ...(rec.finishedAt !== undefined ? { finishedAt: rec.finishedAt } : {}),
    ...(rec.result ? { result: rec.result } : {}),
    ...(m.previousMessageId !== undefined ? { previousMessageId: m.previousMessageId } : {}),
  };
}

function withReqId(reqId: ReqId | undefined): { reqId?: ReqId } {
  return reqId === undefined ? {} : { reqId };
}

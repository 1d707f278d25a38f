/**
 * The inspector's HTTP server (`steward start --inspect [host:port]`): one
 * self-contained page (no CDN, nothing fetched from the internet) and a
 * small read-only JSON API it polls and streams from:
 *
 * | path | what |
 * |---|---|
 * | `/` | the page |
 * | `/api/view?filter=` | the tree, totals, recent failures and supervision events |
 * | `/api/stream?filter=` | the same as Server-Sent Events, pushed on change, throttled |
 * | `/api/actors?process=&offset=&limit=&state=` | one page of a process's message actors |
 * | `/api/messages/<id>` | one message: its actors, timeline and journal records |
 * | `/api/machines` | the delivery, execution and supervisor machines as SVG |
 *
 * Nothing can be changed through it. It listens on loopback by default; with
 * a token (a generated one by default, see inspectorProcess.ts) every request
 * must carry it (`Authorization: Bearer`, `?token=` once, then a cookie).
 * Without a token, requests naming another host are refused, so a web page
 * elsewhere cannot read it through DNS rebinding. Event streams are capped
 * ({@link InspectorServerOptions.maxStreams}): each one costs a view built
 * and pushed every few seconds, so unbounded streams would let anyone who
 * reaches the port make the node spend its time and memory on them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AnyActorRef } from 'xstate';
import { deliveryMachine, executionMachine, supervisorMachine } from '@steward/core';
import type { NodeServices } from '../node/services.js';
import { stewardVersion } from '../version.js';
import type { LiveModel } from './liveModel.js';
import { machineGraph } from './machineGraph.js';
import { renderMachineSvg } from './machineSvg.js';
import { buildView, pageActors, type InspectorView } from './viewModel.js';

/** Where the inspector listens when `--inspect` is given without an address. */
export const defaultInspectHostPort = '127.0.0.1:2113';

/** Options of {@link InspectorServer}. */
export interface InspectorServerOptions {
  /** `host:port`; an empty host means loopback. */
  hostAndPort: string;
  /**
   * A token every request must carry; empty for none (loopback only is advised then).
   * @defaultValue ''
   */
  token?: string;
  services: NodeServices;
  live: LiveModel;
  root: () => AnyActorRef | undefined;
  /** When the node started (ms since the epoch). */
  startedAt: number;
  /**
   * Shortest time between two pushes to one page, in ms; big views are pushed less often.
   * @defaultValue 500
   */
  pushIntervalMs?: number;
  /**
   * Event streams (`/api/stream`, one per open page) served at once; one
   * more is refused with HTTP 503 until another closes.
   * @defaultValue 16
   */
  maxStreams?: number;
}

/** {@link InspectorServerOptions.maxStreams} when not given. */
export const defaultMaxStreams = 16;

interface StreamClient {
  res: ServerResponse;
  filter: string;
  lastRev: number;
  lastSent: number;
  /** Pushes to this client are spaced at least this far apart (grows with the view's size). */
  minGapMs: number;
}

/**
 * The page: beside the compiled package (dist/inspector/ → assets/), or beside
 * the command line's bundle, which has the assets next to its files (see
 * scripts/bundle-cli.mjs).
 */
const pageFiles = [
  new URL('../../assets/inspector/index.html', import.meta.url),
  new URL('./assets/inspector/index.html', import.meta.url),
];

/** The page, and CSP hashes of its inline script and style. */
function loadPage(): { html: string; csp: string } {
  const pageFile = pageFiles.find((f) => existsSync(f)) ?? pageFiles[0]!;
  const html = readFileSync(pageFile, 'utf8');
  const hashes = (tag: string) =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map(
      (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
    );
  const csp = [
    "default-src 'none'",
    `script-src ${hashes('script').join(' ')}`,
    `style-src ${hashes('style').join(' ')}`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

function splitHostPort(hostAndPort: string): { host: string; port: number } {
  const i = hostAndPort.lastIndexOf(':');
  const host = (i < 0 ? '' : hostAndPort.slice(0, i)).replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port: Number(i < 0 ? hostAndPort : hostAndPort.slice(i + 1)) };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** See the module doc. */
export class InspectorServer {
  private server?: Server;
  private readonly clients = new Set<StreamClient>();
  private timer?: NodeJS.Timeout;
  private page?: { html: string; csp: string };
  private machines?: string;
  private readonly token: string;
  private readonly host: string;
  private port: number;

  constructor(private readonly o: InspectorServerOptions) {
    this.token = o.token ?? '';
    ({ host: this.host, port: this.port } = splitHostPort(o.hostAndPort));
  }

  /** `host:port` it listens on (the real port when 0 was asked). */
  get address(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Starts listening; rejects when the address cannot be bound. */
  listen(): Promise<void> {
    this.page = loadPage();
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        const addr = server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        this.timer = setInterval(() => this.push(), Math.max(100, this.o.pushIntervalMs ?? 500));
        resolve();
      });
    });
  }

  /** Ends the streams and stops listening. */
  close(): Promise<void> {
    clearInterval(this.timer);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r()));
  }

  private view(filter: string): InspectorView {
    const s = this.o.services;
    return buildView({
      node: s.config.node,
      version: stewardVersion,
      startedAt: this.o.startedAt,
      brokerConnected: s.broker.connected,
      ...(s.broker.current()?.getServer() ? { brokerServer: s.broker.current()!.getServer() } : {}),
      root: this.o.root(),
      live: this.o.live,
      filter,
    });
  }

  /** Cookies are shared by every port of a host: one name per port, so two nodes' inspectors on one machine keep their own. */
  private get cookieName(): string {
    return `steward_inspect_${this.port}`;
  }

  private isLoopback(): boolean {
    return this.host === '127.0.0.1' || this.host === '::1' || this.host === 'localhost' || this.host.startsWith('127.');
  }

  /** Whether the request may be answered; writes the refusal when not. */
  private allowed(req: IncomingMessage, url: URL, res: ServerResponse): boolean {
    if (this.token) {
      const header = req.headers.authorization ?? '';
      const cookie = new RegExp(`(?:^|;\\s*)${this.cookieName}=([^;]+)`).exec(req.headers.cookie ?? '')?.[1];
      const given = header.startsWith('Bearer ')
        ? header.slice(7)
        : (url.searchParams.get('token') ?? (cookie ? decodeURIComponent(cookie) : ''));
      if (!timingSafeEqual(digest(given), digest(this.token))) {
        this.send(res, 401, 'text/plain; charset=utf-8', 'steward inspector: a token is required (open the page with ?token=<token>)\n');
        return false;
      }
      return true;
    }
    if (this.isLoopback()) {
      const host = (req.headers.host ?? '').toLowerCase();
      const ok = [`127.0.0.1:${this.port}`, `localhost:${this.port}`, `[::1]:${this.port}`, `${this.address}`].includes(host);
      if (!ok) {
        this.send(res, 403, 'text/plain; charset=utf-8', 'steward inspector: unexpected Host header\n');
        return false;
      }
    }
    return true;
  }

  private send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, {
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      ...extra,
    });
    res.end(body);
  }

  private json(res: ServerResponse, value: unknown, status = 200): void {
    this.send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      const url = new URL(req.url ?? '/', 'http://inspector.invalid');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        this.send(res, 405, 'text/plain; charset=utf-8', 'steward inspector is read-only\n', { allow: 'GET, HEAD' });
        return;
      }
      if (!this.allowed(req, url, res)) return;
      const path = url.pathname;
      if (path === '/' || path === '/index.html') {
        if (this.token && url.searchParams.has('token')) {
          // Trade the token in the address for a cookie, and drop it from the address bar and history.
          res.writeHead(303, {
            location: '/',
            'set-cookie': `${this.cookieName}=${encodeURIComponent(this.token)}; HttpOnly; SameSite=Strict; Path=/`,
            'cache-control': 'no-store',
          });
          res.end();
          return;
        }
        this.send(res, 200, 'text/html; charset=utf-8', this.page!.html, {
          'content-security-policy': this.page!.csp,
          'x-frame-options': 'DENY',
        });
        return;
      }
      if (path === '/api/view') return this.json(res, this.view(url.searchParams.get('filter') ?? ''));
      if (path === '/api/stream') return this.stream(req, res, url.searchParams.get('filter') ?? '');
      if (path === '/api/machines') {
        this.machines ??= JSON.stringify(
          Object.fromEntries(
            (
              [
                ['delivery', deliveryMachine],
                ['execution', executionMachine],
                ['supervisor', supervisorMachine],
              ] as const
            ).map(([name, m]) => {
              const graph = machineGraph(m);
              return [name, { states: graph.states.map((st) => st.key), svg: renderMachineSvg(graph) }];
            }),
          ),
        );
        this.send(res, 200, 'application/json; charset=utf-8', this.machines);
        return;
      }
      if (path === '/api/actors') {
        const process = url.searchParams.get('process') ?? '';
        const state = url.searchParams.get('state') ?? undefined;
        const offset = Number(url.searchParams.get('offset') ?? 0) || 0;
        const limit = Number(url.searchParams.get('limit') ?? 50) || 50;
        return this.json(res, pageActors(this.o.live, process, offset, limit, state || undefined));
      }
      const message = /^\/api\/messages\/([A-Za-z0-9_-]{1,128})$/.exec(path);
      if (message) return this.json(res, this.message(message[1]!));
      this.send(res, 404, 'text/plain; charset=utf-8', 'steward inspector: not found\n');
    } catch (err) {
      this.send(res, 500, 'text/plain; charset=utf-8', `steward inspector: ${(err as Error).message}\n`);
    }
  }

  /** What is known of one message: live actors and timeline, and its journal records. */
  private message(id: string): unknown {
    const { actors, timeline } = this.o.live.message(id);
    const j = this.o.services.journal;
    const out = j.getOutbox(id);
    const inb = j.getInbox(id);
    return {
      id,
      actors,
      timeline,
      ...(out
        ? {
            outbox: {
              subject: out.subject,
              state: out.state,
              attempts: out.attempts,
              createdAt: out.createdAt,
              updatedAt: out.updatedAt,
              finishedAt: out.finishedAt,
              lastError: out.lastError,
              reply: out.reply ? { status: out.reply.status, error: out.reply.error, exitCode: out.reply.exitCode } : undefined,
              message: { ...out.message, data: out.message.data.map((d) => (d.length > 500 ? d.slice(0, 500) + '…' : d)) },
            },
          }
        : {}),
      ...(inb
        ? {
            inbox: {
              subject: inb.subject,
              state: inb.state,
              receivedAt: inb.receivedAt,
              startedAt: inb.startedAt,
              finishedAt: inb.finishedAt,
              result: inb.result ? { status: inb.result.status, error: inb.result.error, exitCode: inb.result.exitCode } : undefined,
            },
          }
        : {}),
    };
  }

  private stream(req: IncomingMessage, res: ServerResponse, filter: string): void {
    const max = this.o.maxStreams ?? defaultMaxStreams;
    if (this.clients.size >= max) {
      this.send(
        res,
        503,
        'text/plain; charset=utf-8',
        `steward inspector: too many event streams open (${this.clients.size} of at most ${max}); close another inspector page and reload\n`,
        { 'retry-after': '10' },
      );
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    res.write('retry: 2000\n\n');
    const client: StreamClient = { res, filter, lastRev: -1, lastSent: 0, minGapMs: this.o.pushIntervalMs ?? 500 };
    this.clients.add(client);
    const gone = () => this.clients.delete(client);
    req.on('close', gone);
    res.on('close', gone);
    this.pushTo(client, new Map());
  }

  /** Sends each page the view when it changed (or every few seconds, for clocks and process states). */
  private push(): void {
    if (this.clients.size === 0) return;
    const built = new Map<string, string>();
    for (const c of this.clients) {
      const now = Date.now();
      const due = (this.o.live.rev !== c.lastRev && now - c.lastSent >= c.minGapMs) || now - c.lastSent >= 3000;
      if (due) this.pushTo(c, built);
    }
  }

  private pushTo(c: StreamClient, built: Map<string, string>): void {
    let body = built.get(c.filter);
    if (body === undefined) {
      body = JSON.stringify(this.view(c.filter));
      built.set(c.filter, body);
    }
    c.lastRev = this.o.live.rev;
    c.lastSent = Date.now();
    // Big views (thousands of actors) are pushed less often, so the page and the node stay responsive.
    c.minGapMs = Math.min(5000, Math.max(this.o.pushIntervalMs ?? 500, (body.length / 50_000) * 500));
    c.res.write(`event: view\ndata: ${body}\n\n`);
  }
}

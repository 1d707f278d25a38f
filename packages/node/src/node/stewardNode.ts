/**
 * The root node actor and the tree it supervises:
 *
 * ```
 * root (supervisor)
 * ├── broker        local nats-server, only when this node started one
 * ├── subscribers   (supervisor) one subscriber per method this node accepts
 * ├── publishers    (supervisor) one publisher per subject with work, on demand
 * ├── inputs        (supervisor) inmsg.txt watcher, read folder watcher
 * ├── hello         periodic SayHello to central
 * ├── housekeeping  wakes publishers of unfinished subjects, prunes the journal
 * └── metrics       Prometheus endpoint
 * ```
 *
 * The root owns the journal, the broker connection and the error kernel.
 * Escalation past the root is reported, and the node exits non-zero so the
 * service manager restarts it.
 */
import inspector from 'node:inspector';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { createActor, type Actor } from 'xstate';
import {
  Journal,
  methodInfo,
  processLogic,
  supervisorMachine,
  type ChildSpec,
  type EscalationError,
  type SupervisorEvent,
} from '@steward/core';
import { AckInbox } from '../transport/ackInbox.js';
import { AuditLog } from '../observability/audit.js';
import { BrokerConnection, defaultBrokerHostPort, EmbeddedBroker, findExecutable, isListening, toServerUrl } from '../transport/broker.js';
import { BrokerNotInstalledError } from '../errors.js';
import type { NodeConfig } from './config.js';
import { ErrorKernel, FailureKind } from './errorKernel.js';
import { InmsgWatcher } from '../inputs/inmsgFile.js';
import { inspectorChild } from '../inspector/inspectorProcess.js';
import { LiveModel } from '../inspector/liveModel.js';
import { attachStately } from '../inspector/statelyBridge.js';
import { createLogger, setSubjectResolver, type LogFormat, type Logger } from '../observability/logger.js';
import { methodHandlers } from '../methods/index.js';
import { Metrics } from '../observability/metrics.js';
import { bindMetricSources, serveMetrics } from '../observability/metricsSources.js';
import { actorAt, SupervisorProcessTable } from './processTable.js';
import { Publisher } from '../delivery/publisher.js';
import { publisherGroupIds, publisherGroupOf } from '../delivery/publisherGroups.js';
import { ReadFolderWatcher } from '../inputs/readFolder.js';
import { NodeServices } from './services.js';
import { SocketApi } from '../api/socketApi.js';
import { reserveInterruptedAppends } from '../execution/interruptedAppends.js';
import { Subscriber } from '../execution/subscriber.js';
import { brokerConnectOptions, describeBrokerAuth, redactSecrets } from '../security/brokerAuth.js';
import {
  localBrokerConfig,
  localBrokerCredentials,
  localBrokerCredentialsPath,
  type LocalBrokerCredentials,
} from '../security/localBroker.js';
import { NodeSecurity } from '../security/nodeSecurity.js';
import { applyFileModes } from '../security/fileModes.js';
import { stewardVersion } from '../version.js';

/** Exit code of a node whose supervision tree escalated past the root. */
export const EXIT_ESCALATED = 70;

/** Options of {@link StewardNode} beyond the configuration. */
export interface StewardNodeOptions {
  /** A logger to use instead of the default console logger. */
  logger?: Logger;
  /** Log format of the default logger (`auto`: text on a terminal, else JSON). @defaultValue 'text' */
  logFormat?: LogFormat;
}

/** One running steward node. */
export class StewardNode {
  readonly log: Logger;
  /** The node's shared services; set once {@link StewardNode.start} has begun. @internal */
  services?: NodeServices;
  /** The root supervisor actor; set once started. @internal */
  root?: Actor<typeof supervisorMachine>;
  private broker?: BrokerConnection;
  private security?: NodeSecurity;
  private acks?: AckInbox;
  private journal?: Journal;
  private metrics?: Metrics;
  private timers: NodeJS.Timeout[] = [];
  /** Starts the publisher of every subject with unfinished messages that has none running (housekeeping). */
  private sweepPublishers: () => void = () => undefined;
  private stopping?: Promise<void>;
  private resolveExit!: (code: number) => void;
  /** Resolves with the exit code when the node stops (0, or {@link EXIT_ESCALATED}). */
  readonly exited: Promise<number>;

  constructor(
    readonly config: NodeConfig,
    opts: StewardNodeOptions = {},
  ) {
    this.log = opts.logger ?? createLogger({ node: config.node, level: config.logLevel, format: opts.logFormat ?? 'text' });
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  /** Opens the journal, starts the actor tree, and resolves once the node receives messages. */
  async start(): Promise<void> {
    const c = this.config;
    const log = this.log;
    // First: everything the node writes from here on is owner-only (or group-readable with --fileGroup).
    applyFileModes(c, log);
    if (c.profilingPort > 0) {
      inspector.open(c.profilingPort, '127.0.0.1');
      // open() only warns on stderr when the port is taken; url() tells whether it listens.
      if (inspector.url()) log.info(`profiling: Node.js inspector on ${inspector.url()}`);
      else log.error(`profiling: could not open the Node.js inspector on 127.0.0.1:${c.profilingPort} (port in use?); running without it`);
    }
    const journal = Journal.open(c.journalPath, { sync: c.journalSync });
    this.journal = journal;
    const metrics = new Metrics(c.node);
    this.metrics = metrics;
    const errors = new ErrorKernel(c.node, log);
    errors.listeners.push((f) => metrics.failures.inc({ kind: f.kind }));
    const audit = new AuditLog(c.auditPath);

    let embedded: EmbeddedBroker | undefined;
    let addresses = c.brokerAddresses;
    /** The local broker's credentials, when this node uses the local broker and was given none of its own. */
    let localCreds: LocalBrokerCredentials | undefined;
    if (addresses.length === 0) {
      addresses = [defaultBrokerHostPort];
      const explicitAuth = Boolean(c.brokerUser || c.brokerToken || c.brokerCredsFile || c.brokerNkeySeedFile);
      // The local broker lets in only this user's nodes: no other user of the machine can send anything.
      if (!explicitAuth) localCreds = localBrokerCredentials();
      if (c.embeddedBroker && !(await isListening(defaultBrokerHostPort))) {
        // Say it now, in words, rather than let the broker process fail until escalation.
        if (!findExecutable('nats-server')) throw new BrokerNotInstalledError();
        const [host, port] = defaultBrokerHostPort.split(':') as [string, string];
        embedded = new EmbeddedBroker(
          join(c.nodeFolder, 'state', 'nats-server.log'),
          log,
          localCreds ? localBrokerConfig(host, port, localCreds) : undefined,
        );
      }
    }
    // The key pair exists from the first start, so the operator can approve it before turning checks on.
    const security = new NodeSecurity(c, log);
    this.security = security;
    log.info(`node key ${security.keys.publicKeyText}`, {
      broker: localCreds ? `user "${localCreds.user}" of the local broker (${localBrokerCredentialsPath()})` : describeBrokerAuth(c),
      signatureCheck: c.enableSignatureCheck,
      aclCheck: c.enableAclCheck,
      trustedKeys: security.trust.trustedNodes().length,
    });
    if (c.enableAclCheck && !c.enableSignatureCheck)
      log.warn('--enableAclCheck without --enableSignatureCheck: ACL rules trust the unproven fromNode of each message');
    const connectOptions = { ...brokerConnectOptions(c), ...(localCreds ? { user: localCreds.user, pass: localCreds.password } : {}) };
    const broker = new BrokerConnection(addresses.map(toServerUrl), c.node, log, connectOptions, (t) =>
      redactSecrets(localCreds ? t.split(localCreds.password).join('***') : t, c),
    );
    this.broker = broker;
    const s = new NodeServices(c, log, journal, broker, errors, audit, metrics);
    this.services = s;
    s.relayRefusal = (from, method, to, data) => security.relayRefusal(from, method, to, data);
    errors.listeners.push((f) => s.events.emit('failure', f));
    // Observability reads the event stream: the live model (inspector, in-flight counts) and the metric sources.
    const live = new LiveModel(s.events, c.inspect ? {} : { timelines: 0 });
    bindMetricSources(metrics, { services: s, live, root: () => this.root });
    setSubjectResolver(log, (id) => live.subjectOf(id) ?? journal.getOutbox(id)?.subject ?? journal.getInbox(id)?.subject);
    // A central node that is not the error logger has nobody to send its reports to but itself.
    const forwardErrors = !(c.node === c.centralNodeName && !c.centralErrorLogger);
    errors.setForwarder((text) => {
      if (!forwardErrors) return;
      s.submit([
        {
          spec: {
            toNode: c.centralNodeName,
            method: 'ErrorLog',
            commandOrEvent: 'EventACK',
            data: [text],
            timeout: c.errorMessageTimeout,
            retries: c.errorMessageRetries,
          },
          source: 'errorKernel',
        },
      ]).catch((err: unknown) => log.error(`could not queue an ErrorLog for central: ${(err as Error).message}`));
    });
    const acks = new AckInbox(
      log,
      (raw, target) => security.ackRefusal(raw, target),
      (code) => metrics.acksIgnored.inc({ reason: code }),
    );
    this.acks = acks;

    const subscribed = new Set<string>();
    // ErrorLog/REQErrorLog only on the error logger, SayHello/REQHello only on central (the catalogue says which).
    const methods = [...methodHandlers.keys()].filter((m) => {
      const by = methodInfo(m)?.acceptedBy;
      return by === undefined || (by === 'errorLogger' ? c.centralErrorLogger : c.node === c.centralNodeName);
    });
    // Before any subscriber runs: appends a crash cut resume first on their files.
    reserveInterruptedAppends(s, methods);
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    // "ready" also means `steward send` can reach the node (or that its socket was refused, and reported).
    let markSocketTried!: () => void;
    const socketTried = new Promise<void>((r) => (markSocketTried = r));
    if (c.socketPath === 'off') markSocketTried();

    const subscriberLogic = processLogic<{ method: string }>(async ({ input, fail }) => {
      const handler = methodHandlers.get(input.method)!;
      const sub = new Subscriber({ services: s, method: input.method, handler, fail, security });
      await sub.start();
      subscribed.add(input.method);
      if (subscribed.size === methods.length) markReady();
      return sub;
    });
    const publisherLogic = processLogic<{ subject: string }>(({ input, fail, sendParent, id }) => {
      const p = new Publisher({
        services: s,
        acks,
        subject: input.subject,
        fail,
        security,
        requestStop: () => sendParent({ type: 'STOP_CHILD', id }),
      });
      p.start();
      return { stop: () => p.stop(), receive: (e) => e.type === 'WAKE' && p.wake() };
    });
    const policy = {
      maxRestarts: c.restartIntensity,
      withinMs: c.restartPeriod * 1000,
      onEvent: (e: SupervisorEvent) => this.onSupervisorEvent(e),
    };
    const supervisor = (name: string, children: ChildSpec[]): ChildSpec => ({
      id: name,
      logic: supervisorMachine,
      input: { name, children, ...policy },
    });

    const children: ChildSpec[] = [];
    if (embedded) {
      const b = embedded;
      children.push({
        id: 'broker',
        logic: processLogic<undefined>(async ({ fail }) => {
          await b.start(fail);
          return { stop: () => b.stop() };
        }),
      });
    }
    children.push(
      supervisor(
        'subscribers',
        methods.map((m) => ({ id: m, logic: subscriberLogic, input: { method: m } })),
      ),
    );
    children.push(
      supervisor(
        'publishers',
        // Named publishers/gNN, so their children's paths are root/publishers/gNN/<subject> (see childPath).
        publisherGroupIds().map((g) => ({ ...supervisor(`publishers/${g}`, []), id: g })),
      ),
    );
    children.push(
      supervisor('inputs', [
        {
          id: 'inmsgFile',
          logic: processLogic<undefined>(async ({ fail }) => {
            const w = new InmsgWatcher(s, fail);
            await w.start();
            return w;
          }),
        },
        ...(c.readFolder
          ? [
              {
                id: 'readFolder',
                logic: processLogic<undefined>(async ({ fail }) => {
                  const w = new ReadFolderWatcher(s, fail);
                  await w.start();
                  return w;
                }),
              },
            ]
          : []),
        ...(c.socketPath === 'off'
          ? []
          : [
              {
                id: 'socketApi',
                logic: processLogic<undefined>(async ({ fail }) => {
                  const api = new SocketApi({ services: s, fail });
                  try {
                    await api.start();
                  } catch (err) {
                    api.stop();
                    throw err;
                  } finally {
                    markSocketTried();
                  }
                  return api;
                }),
              },
            ]),
      ]),
    );
    if (c.sayHelloInterval > 0) children.push({ id: 'hello', logic: processLogic<undefined>(() => this.helloProcess()) });
    children.push({ id: 'housekeeping', logic: processLogic<undefined>(() => this.housekeepingProcess()) });
    if (c.promHostAndPort && c.promHostAndPort !== 'off') {
      children.push({
        id: 'metrics',
        logic: processLogic<undefined>(() => serveMetrics(metrics, c.promHostAndPort, log, (f) => errors.report(f))),
      });
    }
    if (c.inspect) children.push(inspectorChild({ services: s, live, root: () => this.root }));

    /** Starts the publishers of `subjects`; with `wake`, also wakes those already running (they have new messages). */
    const startPublishers = (subjects: Iterable<string>, wake: boolean): void => {
      const publishers = actorAt(this.root, ['publishers']);
      for (const subject of subjects) {
        // A group restarting right now misses the wake; the housekeeping sweep starts the publisher later.
        const group = actorAt(publishers, [publisherGroupOf(subject)]);
        if (!wake && actorAt(group, [subject])) continue;
        group?.send({ type: 'START_CHILD', spec: { id: subject, logic: publisherLogic, input: { subject } } });
      }
    };
    s.onNewMessages = (subjects) => startPublishers(subjects, true);
    this.sweepPublishers = () => startPublishers(s.journal.openSubjects(), false);

    const stately = c.inspectStately
      ? attachStately({ target: c.inspectStately, root: () => this.root, events: s.events, log, exited: this.exited })
      : undefined;
    const root = createActor(supervisorMachine, {
      input: { name: 'root', children, ...policy, onEscalate: (err: EscalationError) => void this.escalate(err) },
      ...(stately ? { inspect: stately.inspect } : {}),
    });
    this.root = root;
    s.processes = new SupervisorProcessTable({
      root: () => this.root,
      // What can be (re)started: the children each supervisor was given at start.
      startable: (path) => {
        const [sup, id, ...rest] = path.split('/');
        const given = (children.find((ch) => ch.id === sup)?.input as { children?: ChildSpec[] } | undefined)?.children;
        const spec = rest.length === 0 ? given?.find((ch) => ch.id === id) : undefined;
        return spec && { supervisor: sup!, spec };
      },
      keep: new Set(['subscribers/REQOpProcessStart', 'subscribers/REQOpProcessStop']),
    });
    // An unobserved actor error would crash Node: the root is always observed.
    root.subscribe({ error: (err) => void this.escalate(err as EscalationError) });
    broker.start();
    void broker.ready().then((nc) => {
      if (nc.info && !nc.info.auth_required && !c.enableSignatureCheck)
        log.warn(
          `the broker at ${nc.getServer()} requires no authentication and signature checks are off: any process that can reach it ` +
            `(any user of this machine, or anyone on the network) can make this node run commands as ${userInfo().username}. ` +
            'Turn signature checks back on (the default), or give the broker credentials (MANUAL: Security)',
        );
      acks.start(nc);
      security.start(nc);
      // Deliveries queued while the broker was away can go now.
      s.onNewMessages(journal.openSubjects());
    });
    root.start();
    log.info(`node ${c.node} starting`, { folder: c.nodeFolder, broker: addresses.join(','), version: stewardVersion });
    if (methods.length === 0) markReady();
    await ready;
    await socketTried;
    const nc = await broker.ready();
    await nc.flush();
    s.onNewMessages(journal.openSubjects());
    log.info(`node ${c.node} ready`, { methods: methods.join(','), openMessages: journal.countOpenOutbox() });
  }

  private helloProcess() {
    const s = this.services!;
    const c = this.config;
    const hello = () =>
      s
        .submit([
          {
            spec: {
              toNode: c.centralNodeName,
              method: 'SayHello',
              commandOrEvent: 'EventNACK',
              data: [`steward ${stewardVersion}`, this.security!.helloData()],
            },
            source: 'hello',
          },
        ])
        .catch((err: unknown) => s.log.warn(`could not queue SayHello: ${(err as Error).message}`));
    void hello();
    const t = setInterval(() => void hello(), c.sayHelloInterval * 1000);
    return { stop: () => clearInterval(t) };
  }

  private housekeepingProcess() {
    const s = this.services!;
    // A safety net: a wake lost while a publisher stopped is picked up here.
    const sweep = setInterval(() => this.sweepPublishers(), 2000);
    const prune = () =>
      s.journal
        .prune(Date.now() - s.config.journalRetentionDays * 86_400_000)
        .then((n) => (n.inbox || n.outbox) && s.log.info('pruned the journal', n))
        .catch((err: unknown) => s.errors.report({ kind: FailureKind.Journal, text: 'journal prune failed', error: err }));
    void prune();
    const pruneTimer = setInterval(() => void prune(), 3_600_000);
    return { stop: () => (clearInterval(sweep), clearInterval(pruneTimer)) };
  }

  private onSupervisorEvent(e: SupervisorEvent): void {
    this.services?.events.emit('supervisor', e);
    const m = this.metrics;
    const errors = this.services?.errors;
    switch (e.type) {
      case 'child.failed':
        errors?.report({ kind: FailureKind.ActorCrashed, text: `process ${e.supervisor}/${e.childId} failed`, error: e.error });
        break;
      case 'child.restarting':
        m?.restarts.inc({ process: `${e.supervisor}/${e.childId}` });
        this.log.warn(
          `restarting process ${e.supervisor}/${e.childId} in ${e.delayMs} ms (restart ${e.restartCount} within ${this.config.restartPeriod}s)`,
        );
        break;
      case 'escalated':
        m?.escalations.inc({ process: `${e.supervisor}/${e.childId}` });
        errors?.report({
          kind: FailureKind.Escalation,
          text: `restart intensity exceeded in ${e.supervisor}: ${e.error.message}`,
          error: e.error,
        });
        break;
      default:
        break;
    }
  }

  private async escalate(err: EscalationError): Promise<void> {
    this.services?.errors.report({
      kind: FailureKind.Escalation,
      text: `escalation reached the root: ${err instanceof Error ? err.message : String(err)}; the node exits so its service manager restarts it`,
      error: err,
    });
    // Give the ErrorLog a moment to reach central; it stays journaled and is resent at the next start otherwise.
    // The report was queued in this turn: wait for its commit first, or the outbox still looks empty.
    await this.journal?.flush().catch(() => undefined);
    // The tree is stopped by now, so a publisher of its own carries the reports.
    const subject = `${this.config.centralNodeName}.EventACK.ErrorLog`;
    const s = this.services;
    const publisher =
      s && this.acks
        ? new Publisher({
            services: s,
            acks: this.acks,
            subject,
            fail: () => undefined,
            requestStop: () => undefined,
            ...(this.security ? { security: this.security } : {}),
          })
        : undefined;
    publisher?.start();
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && (this.journal?.countOpenOutbox(subject) ?? 0) > 0) {
      await new Promise((r) => setTimeout(r, 100));
    }
    publisher?.stop();
    await this.stop(EXIT_ESCALATED);
  }

  /**
   * Reports a failure that escaped every actor (an unhandled rejection or
   * exception in the process). Rejections are reported and the node goes on;
   * an exception leaves the process in an unknown state, so the node stops
   * with {@link EXIT_ESCALATED} for its service manager to restart it.
   */
  reportUncaught(err: unknown, kind: 'rejection' | 'exception'): void {
    const text = `uncaught ${kind}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    if (this.services) this.services.errors.report({ kind: FailureKind.ActorCrashed, text, error: err });
    else this.log.error(text);
    if (kind === 'exception') void this.stop(EXIT_ESCALATED);
  }

  /** Stops the tree, drains the broker connection and closes the journal. */
  stop(code = 0): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info(`node ${this.config.node} stopping`);
      for (const t of this.timers) clearInterval(t);
      // Refusal summaries still counting: logged and queued for central now (journaled below), not lost.
      this.services?.errors.flush();
      try {
        this.root?.stop();
      } catch (err) {
        this.log.error(`stopping the actor tree failed: ${(err as Error).message}`);
      }
      this.acks?.stop();
      this.security?.stop();
      await this.broker?.close().catch(() => undefined);
      await this.metrics?.close().catch(() => undefined);
      try {
        await this.journal?.flush();
      } catch {
        // closing below commits what is left
      }
      this.journal?.close();
      this.services?.audit.flush();
      this.log.info(`node ${this.config.node} stopped`);
      this.resolveExit(code);
    })();
    return this.stopping;
  }
}

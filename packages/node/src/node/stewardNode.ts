/**
 * The root of a node: opens the journal, chooses the broker, loads the
 * node's security, builds the shared services, and starts the actor tree
 * (its spec is in nodeTree.ts). The root owns the journal, the broker
 * connection and the error kernel. Escalation past the root is reported, and
 * the node exits non-zero so the service manager restarts it.
 */
import inspector from 'node:inspector';
import { createActor } from 'xstate';
import { Journal, supervisorMachine, type EscalationError, type SupervisorEvent } from '@steward/core';
import { Publisher } from '../delivery/publisher.js';
import { reserveInterruptedAppends } from '../execution/interruptedAppends.js';
import { LiveModel } from '../inspector/liveModel.js';
import type { attachStately as AttachStately } from '../inspector/statelyBridge.js';
import { AuditLog } from '../observability/audit.js';
import { createLogger, setSubjectResolver, type LogFormat, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { bindMetricSources } from '../observability/metricsSources.js';
import { describeBrokerAuth } from '../security/brokerAuth.js';
import { applyFileModes } from '../security/fileModes.js';
import { localBrokerCredentialsPath, type LocalBrokerCredentials } from '../security/localBroker.js';
import { NodeSecurity } from '../security/nodeSecurity.js';
import { AckInbox } from '../transport/ackInbox.js';
import type { BrokerConnection } from '../transport/brokerConnection.js';
import { stewardVersion } from '../version.js';
import { chooseBroker, connectBroker, warnIfOpenBroker } from './brokerChoice.js';
import { validateConfig, type NodeConfig } from './config.js';
import { ErrorKernel, FailureKind } from './errorKernel.js';
import { forwardErrorsToCentral } from './errorForwarding.js';
import { acceptedMethods, nodeTree, startableChild, startPublishers, type NodeTree, type RootActor } from './nodeTree.js';
import { SupervisorProcessTable } from './processTable.js';
import { Readiness } from './readiness.js';
import { NodeServices } from './services.js';

/** Exit code of a node whose supervision tree escalated past the root. */
export const EXIT_ESCALATED = 70;

/** Options of {@link StewardNode} beyond the configuration. */
export interface StewardNodeOptions {
  /** A logger to use instead of the default console logger. */
  logger?: Logger;
  /** Log format of the default logger, instead of {@link NodeConfig.logFormat}. */
  logFormat?: LogFormat;
}

/** One running steward node. */
export class StewardNode {
  readonly log: Logger;
  /** The node's shared services; set once {@link StewardNode.start} has begun. @internal */
  services?: NodeServices;
  /** The root supervisor actor; set once started. @internal */
  root?: RootActor;
  private broker?: BrokerConnection;
  private security?: NodeSecurity;
  private acks?: AckInbox;
  private journal?: Journal;
  private metrics?: Metrics;
  private stopping?: Promise<void>;
  private resolveExit!: (code: number) => void;
  /** Resolves with the exit code when the node stops (0, or {@link EXIT_ESCALATED}). */
  readonly exited: Promise<number>;

  /**
   * @param config - the node's configuration; checked against its schema (configSchema.ts)
   * @throws {@link ConfigError} listing every problem of `config`, one per line, each naming its option
   */
  constructor(
    readonly config: NodeConfig,
    opts: StewardNodeOptions = {},
  ) {
    // Refused here, not at first use: a node that cannot run as configured must not half-start.
    validateConfig(config);
    this.log = opts.logger ?? createLogger({ node: config.node, level: config.logLevel, format: opts.logFormat ?? config.logFormat });
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  /** Opens the journal, starts the actor tree, and resolves once the node receives messages. */
  async start(): Promise<void> {
    const c = this.config;
    const log = this.log;
    // First: everything the node writes from here on is owner-only (or group-readable with --fileGroup).
    applyFileModes(c, log);
    this.openProfiler();
    const journal = Journal.open(c.journalPath, { sync: c.journalSync });
    this.journal = journal;
    const metrics = new Metrics(c.node);
    this.metrics = metrics;
    const errors = new ErrorKernel(c.node, log);
    errors.listeners.push((f) => metrics.failures.inc({ kind: f.kind }));
    const audit = new AuditLog(c.auditPath);
    const brokerChoice = await chooseBroker(c, log);
    const security = this.openSecurity(brokerChoice.localCreds);
    const broker = connectBroker(c, log, brokerChoice);
    this.broker = broker;
    const s = new NodeServices(c, log, journal, broker, errors, audit, metrics);
    this.services = s;
    s.relayRefusal = (from, method, to, data) => security.relayRefusal(from, method, to, data);
    errors.listeners.push((f) => s.events.emit('failure', f));
    // Observability reads the event stream: the live model (inspector, in-flight counts) and the metric sources.
    const live = new LiveModel(s.events, c.inspect ? {} : { timelines: 0 });
    bindMetricSources(metrics, { services: s, live, root: () => this.root });
    setSubjectResolver(log, (id) => live.subjectOf(id) ?? journal.getOutbox(id)?.subject ?? journal.getInbox(id)?.subject);
    forwardErrorsToCentral(s);
    const acks = new AckInbox(
      log,
      (raw, target) => security.ackRefusal(raw, target),
      (code) => metrics.acksIgnored.inc({ reason: code }),
      (frame, node, target) => security.ackFrameRefusal(frame, node, target),
    );
    this.acks = acks;

    const methods = acceptedMethods(c);
    // Before any subscriber runs: appends a crash cut resume first on their files.
    reserveInterruptedAppends(s, methods);
    const readiness = new Readiness(methods, c.socketPath !== 'off');
    const tree: NodeTree = nodeTree({
      services: s,
      security,
      acks,
      methods,
      ...(brokerChoice.embedded ? { embedded: brokerChoice.embedded } : {}),
      live,
      root: () => this.root,
      onSupervisorEvent: (e) => this.onSupervisorEvent(e),
      onSubscribed: (m) => readiness.subscribed(m),
      onSocketTried: () => readiness.socketTried(),
      sweepPublishers: () => startPublishers(this.root, tree.publisherLogic, s.journal.openSubjects(), false),
    });
    s.onNewMessages = (subjects) => startPublishers(this.root, tree.publisherLogic, subjects, true);

    // The bridge to Stately's inspector is loaded only when asked for.
    const stately = c.inspectStately ? await import('../inspector/statelyBridge.js') : undefined;
    const root = this.createRoot(tree, stately?.attachStately);
    // An unobserved actor error would crash Node: the root is always observed.
    root.subscribe({ error: (err) => void this.escalate(err as EscalationError) });
    broker.start();
    void broker.ready().then((nc) => {
      warnIfOpenBroker(nc, c, log);
      acks.start(nc);
      security.start(nc);
      // Deliveries queued while the broker was away can go now.
      s.onNewMessages(journal.openSubjects());
    });
    root.start();
    log.info(`node ${c.node} starting`, { folder: c.nodeFolder, broker: brokerChoice.addresses.join(','), version: stewardVersion });
    await readiness.ready;
    const nc = await broker.ready();
    await nc.flush();
    s.onNewMessages(journal.openSubjects());
    log.info(`node ${c.node} ready`, { methods: methods.join(','), openMessages: journal.countOpenOutbox() });
  }

  /** Opens the Node.js inspector for profiling, when `profilingPort` asks for it. */
  private openProfiler(): void {
    const c = this.config;
    const log = this.log;
    if (c.profilingPort > 0) {
      inspector.open(c.profilingPort, '127.0.0.1');
      // open() only warns on stderr when the port is taken; url() tells whether it listens.
      if (inspector.url()) log.info(`profiling: Node.js inspector on ${inspector.url()}`);
      else log.error(`profiling: could not open the Node.js inspector on 127.0.0.1:${c.profilingPort} (port in use?); running without it`);
    }
  }

  /** Loads (or creates) the node's keys, trust store and ACL, and says how the node is secured. */
  private openSecurity(localCreds: LocalBrokerCredentials | undefined): NodeSecurity {
    const c = this.config;
    const log = this.log;
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
    return security;
  }

  /** Creates the root supervisor of `tree` (not started), and the process table the REQOpProcess* methods use. */
  private createRoot(tree: NodeTree, attachStately?: typeof AttachStately): RootActor {
    const c = this.config;
    const s = this.services!;
    const stately =
      c.inspectStately && attachStately
        ? attachStately({ target: c.inspectStately, root: () => this.root, events: s.events, log: this.log, exited: this.exited })
        : undefined;
    const root = createActor(supervisorMachine, {
      input: { name: 'root', children: tree.children, ...tree.policy, onEscalate: (err: EscalationError) => void this.escalate(err) },
      ...(stately ? { inspect: stately.inspect } : {}),
    });
    this.root = root;
    s.processes = new SupervisorProcessTable({
      root: () => this.root,
      // What can be (re)started: the children each supervisor was given at start.
      startable: (path) => startableChild(tree.children, path),
      keep: new Set(['subscribers/REQOpProcessStart', 'subscribers/REQOpProcessStop']),
    });
    return root;
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

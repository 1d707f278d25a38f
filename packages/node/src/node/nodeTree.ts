/**
 * The spec of the tree under the root supervisor:
 *
 * ```
 * root (supervisor)
 * ├── broker        local nats-server, only when this node started one
 * ├── subscribers   (supervisor) one subscriber per method this node accepts
 * ├── publishers    (supervisor) publishers/gNN groups, one publisher per subject with work, on demand
 * ├── inputs        (supervisor) startup/ messages, inmsg.txt watcher, read folder watcher, socket API
 * ├── hello         periodic SayHello to central
 * ├── housekeeping  wakes publishers of unfinished subjects, prunes the journal
 * ├── metrics       Prometheus endpoint
 * └── inspector     optional: live view of this tree for a browser
 * ```
 *
 * What each child runs lives in its own folder; this file only says where
 * it sits in the tree and with which restart policy.
 */
import type { Actor } from 'xstate';
import { methodInfo, processLogic, supervisorMachine, type ChildSpec, type SupervisorEvent } from '@steward/core';
import { SocketApi } from '../api/socketApi.js';
import { Publisher } from '../delivery/publisher.js';
import { publisherGroupIds, publisherGroupOf } from '../delivery/publisherGroups.js';
import { Subscriber } from '../execution/subscriber.js';
import { InmsgWatcher } from '../inputs/inmsgFile.js';
import { StartupFolder, type StartupRun } from '../inputs/startupFolder.js';
import type { LiveModel } from '../inspector/liveModel.js';
import { methodHandlers } from '../methods/index.js';
import { serveMetrics } from '../observability/metricsServer.js';
import type { NodeSecurity } from '../security/nodeSecurity.js';
import type { AckInbox } from '../transport/ackInbox.js';
import type { EmbeddedBroker } from '../transport/embeddedBroker.js';
import type { NodeConfig } from './config.js';
import { helloProcess, housekeepingProcess } from './nodeProcesses.js';
import { actorAt } from './processTable.js';
import type { NodeServices } from './services.js';

/** The root supervisor actor. */
export type RootActor = Actor<typeof supervisorMachine>;

/** What the tree is built from. @internal */
export interface NodeTreeOptions {
  services: NodeServices;
  security: NodeSecurity;
  acks: AckInbox;
  /** The methods this node subscribes to. */
  methods: readonly string[];
  /** The local nats-server this node runs, if any. */
  embedded?: EmbeddedBroker;
  live: LiveModel;
  /** The root actor, once created. */
  root: () => RootActor | undefined;
  /** Told about every supervision event (failures, restarts, escalations). */
  onSupervisorEvent: (e: SupervisorEvent) => void;
  /** A subscriber is subscribed. */
  onSubscribed: (method: string) => void;
  /** The socket API was started, or its start failed (and was reported). */
  onSocketTried: () => void;
  /** Starts the publisher of every subject with unfinished messages that has none running. */
  sweepPublishers: () => void;
}

/** The children of the root, and the logic of a publisher (started on demand). @internal */
export interface NodeTree {
  children: ChildSpec[];
  publisherLogic: ChildSpec['logic'];
  /** The restart policy of every supervisor of the tree. */
  policy: { maxRestarts: number; withinMs: number; onEvent: (e: SupervisorEvent) => void };
}

/** The methods a node subscribes to. */
export function acceptedMethods(c: NodeConfig): string[] {
  // ErrorLog/REQErrorLog only on the error logger, SayHello/REQHello only on central (the catalogue says which).
  return [...methodHandlers.keys()].filter((m) => {
    const by = methodInfo(m)?.acceptedBy;
    return by === undefined || (by === 'errorLogger' ? c.centralErrorLogger : c.node === c.centralNodeName);
  });
}

/** Builds the tree's spec; nothing runs until the root starts. */
export function nodeTree(o: NodeTreeOptions): NodeTree {
  const s = o.services;
  const c = s.config;
  const { security, acks, methods, live } = o;
  const subscriberLogic = processLogic<{ method: string }>(async ({ input, fail }) => {
    const handler = methodHandlers.get(input.method)!;
    const sub = new Subscriber({ services: s, method: input.method, handler, fail, security });
    await sub.start();
    o.onSubscribed(input.method);
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
    onEvent: o.onSupervisorEvent,
  };
  const supervisor = (name: string, children: ChildSpec[]): ChildSpec => ({
    id: name,
    logic: supervisorMachine,
    input: { name, children, ...policy },
  });

  const children: ChildSpec[] = [];
  if (o.embedded) {
    const b = o.embedded;
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
  children.push(supervisor('inputs', inputs(s, o.onSocketTried)));
  if (c.sayHelloInterval > 0) children.push({ id: 'hello', logic: processLogic<undefined>(() => helloProcess(s, security)) });
  children.push({ id: 'housekeeping', logic: processLogic<undefined>(() => housekeepingProcess(s, o.sweepPublishers)) });
  if (c.promHostAndPort && c.promHostAndPort !== 'off') {
    children.push({
      id: 'metrics',
      logic: processLogic<undefined>(() => serveMetrics(s.metrics, c.promHostAndPort, s.log, (f) => s.errors.report(f))),
    });
  }
  if (c.inspect) {
    const startedAt = Date.now();
    // Loaded when the process starts: a node without --inspect never loads the inspector's server and pages.
    children.push({
      id: 'inspector',
      logic: processLogic<undefined>(async () => {
        const { startInspector } = await import('../inspector/inspectorProcess.js');
        return startInspector({ services: s, live, root: o.root }, startedAt);
      }),
    });
  }
  return { children, publisherLogic, policy };
}

/** The children of the `inputs` supervisor: the startup/ folder, the inmsg.txt watcher, the read folder watcher, the socket API. */
function inputs(s: NodeServices, onSocketTried: () => void): ChildSpec[] {
  const c = s.config;
  // One per node start: a restart of the startup process within it sends nothing again.
  const startup: StartupRun = { key: String(Date.now()), done: false };
  return [
    {
      id: 'startup',
      logic: processLogic<undefined>(async () => {
        const f = new StartupFolder(s, startup);
        await f.start();
        return f;
      }),
    },
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
              // Loaded on use, with its YAML parser: most nodes have no read folder.
              const { ReadFolderWatcher } = await import('../inputs/readFolder.js');
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
                onSocketTried();
              }
              return api;
            }),
          },
        ]),
  ];
}

/** Starts the publishers of `subjects`; with `wake`, also wakes those already running (they have new messages). */
export function startPublishers(
  root: RootActor | undefined,
  publisherLogic: ChildSpec['logic'],
  subjects: Iterable<string>,
  wake: boolean,
): void {
  const publishers = actorAt(root, ['publishers']);
  for (const subject of subjects) {
    // A group restarting right now misses the wake; the housekeeping sweep starts the publisher later.
    const group = actorAt(publishers, [publisherGroupOf(subject)]);
    if (!wake && actorAt(group, [subject])) continue;
    group?.send({ type: 'START_CHILD', spec: { id: subject, logic: publisherLogic, input: { subject } } });
  }
}

/** What can be (re)started at `path` (supervisor/child): the children each supervisor was given at start. */
export function startableChild(children: readonly ChildSpec[], path: string): { supervisor: string; spec: ChildSpec } | undefined {
  const [sup, id, ...rest] = path.split('/');
  const given = (children.find((ch) => ch.id === sup)?.input as { children?: ChildSpec[] } | undefined)?.children;
  const spec = rest.length === 0 ? given?.find((ch) => ch.id === id) : undefined;
  return spec && { supervisor: sup!, spec };
}

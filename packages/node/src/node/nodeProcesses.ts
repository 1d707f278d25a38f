/**
 * The root's small periodic processes: `hello` (SayHello to central, so it
 * knows this node is alive, which key it has and its facts) and `housekeeping` (wakes
 * publishers a lost wake left idle, prunes the journal).
 */
import type { Process } from '@steward/core';
import type { NodeSecurity } from '../security/nodeSecurity.js';
import { stewardVersion } from '../version.js';
import { FailureKind } from './errorKernel.js';
import { factElements, readNodeFacts } from './facts.js';
import type { NodeServices } from './services.js';

/** Says hello to central now and every `sayHelloInterval` seconds. */
export function helloProcess(s: NodeServices, security: NodeSecurity): Process {
  const c = s.config;
  // Read once per start: changed tags are told after a restart.
  const { facts, warnings } = readNodeFacts(c.nodeFolder);
  for (const w of warnings) s.log.warn(w);
  const data = [`steward ${stewardVersion}`, security.helloData(), ...factElements(facts)];
  const hello = () =>
    s
      .submit([
        {
          spec: {
            toNode: c.centralNodeName,
            method: 'SayHello',
            commandOrEvent: 'EventNACK',
            data,
          },
          source: 'hello',
        },
      ])
      .catch((err: unknown) => s.log.warn(`could not queue SayHello: ${(err as Error).message}`));
  void hello();
  const t = setInterval(() => void hello(), c.sayHelloInterval * 1000);
  return { stop: () => clearInterval(t) };
}

/** Runs `sweepPublishers` every 2 s and prunes the journal every hour (and now). */
export function housekeepingProcess(s: NodeServices, sweepPublishers: () => void): Process {
  // A safety net: a wake lost while a publisher stopped is picked up here.
  const sweep = setInterval(() => sweepPublishers(), 2000);
  const prune = () =>
    s.journal
      .prune(Date.now() - s.config.journalRetentionDays * 86_400_000)
      .then((n) => (n.inbox || n.outbox) && s.log.info('pruned the journal', n))
      .catch((err: unknown) => s.errors.report({ kind: FailureKind.Journal, text: 'journal prune failed', error: err }));
  void prune();
  const pruneTimer = setInterval(() => void prune(), 3_600_000);
  return { stop: () => (clearInterval(sweep), clearInterval(pruneTimer)) };
}

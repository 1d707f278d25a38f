/**
 * The inspector as a supervised process of the node (`root/inspector`).
 */
import { processLogic, type ChildSpec } from '@steward/core';
import type { AnyActorRef } from 'xstate';
import { FailureKind } from '../errorKernel.js';
import type { NodeServices } from '../services.js';
import { InspectorServer, defaultInspectHostPort } from './inspectorServer.js';
import type { LiveModel } from './liveModel.js';

/** Options of {@link inspectorChild}. */
export interface InspectorChildOptions {
  services: NodeServices;
  live: LiveModel;
  root: () => AnyActorRef | undefined;
  /**
   * Milliseconds between two tries to bind a busy address.
   * @defaultValue 30000
   */
  retryMs?: number;
}

/**
 * The child spec of the inspector process. An address that cannot be bound
 * (another node on this machine has it) is reported once and retried, but
 * does not fail the process: restarting would not free the port, and an
 * escalation would stop a node whose real work is fine.
 */
export function inspectorChild(o: InspectorChildOptions): ChildSpec {
  const startedAt = Date.now();
  return {
    id: 'inspector',
    logic: processLogic<undefined>(() => {
      const s = o.services;
      const c = s.config;
      const hostAndPort = c.inspect || defaultInspectHostPort;
      const server = new InspectorServer({ hostAndPort, token: c.inspectToken, services: s, live: o.live, root: o.root, startedAt });
      let stopped = false;
      let reported = false;
      let timer: NodeJS.Timeout | undefined;
      const retryMs = o.retryMs ?? 30_000;
      const attempt = async () => {
        try {
          await server.listen();
          if (stopped) return void (await server.close());
          const open = server.address.startsWith('0.0.0.0') || server.address.startsWith('[::]');
          s.log.info(`inspector on http://${server.address}/`, { token: c.inspectToken ? 'required' : 'none' });
          if (open && !c.inspectToken)
            s.log.warn('the inspector listens on every interface without --inspectToken: anyone who reaches the port can read it');
        } catch (err) {
          if (!reported) {
            reported = true;
            s.errors.report({
              kind: FailureKind.ActorCrashed,
              text: `inspector cannot listen on ${hostAndPort}: ${(err as Error).message}; retrying every ${retryMs / 1000}s`,
              error: err,
            });
          }
          if (!stopped) timer = setTimeout(() => void attempt(), retryMs);
        }
      };
      void attempt();
      return {
        stop: () => {
          stopped = true;
          clearTimeout(timer);
          return server.close();
        },
      };
    }),
  };
}

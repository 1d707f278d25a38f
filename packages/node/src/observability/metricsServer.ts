/**
 * The Prometheus endpoint of a node, run as the `metrics` process of the tree.
 */
import type { Failure } from '../node/errorKernel.js';
import { FailureKind } from '../node/errorKernel.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * The metrics endpoint as a supervised process. A port that cannot be
 * bound (another node on this machine has it) is reported and retried every
 * `retryMs`, but does not fail the process: a restart would not free the
 * port, and escalating would stop a node whose real work is fine.
 */
export function serveMetrics(
  metrics: Metrics,
  hostAndPort: string,
  log: Logger,
  report: (f: Failure) => void,
  retryMs = 30_000,
): { ready: Promise<void>; stop: () => Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let reported = false;
  const attempt = async (): Promise<void> => {
    try {
      await metrics.listen(hostAndPort);
      if (stopped) await metrics.close();
      else log.info(`metrics on http://${hostAndPort}/metrics`);
    } catch (err) {
      if (!reported) {
        reported = true;
        report({
          kind: FailureKind.ActorCrashed,
          text: `metrics endpoint cannot listen on ${hostAndPort}: ${(err as Error).message}; retrying every ${retryMs / 1000}s`,
          error: err,
        });
      }
      if (!stopped) timer = setTimeout(() => void attempt(), retryMs);
    }
  };
  return {
    ready: attempt(),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      return metrics.close();
    },
  };
}

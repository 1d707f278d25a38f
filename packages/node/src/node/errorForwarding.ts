/**
 * The error kernel's reports to central: each one becomes an ErrorLog
 * message to the central node, journaled and delivered like any other.
 */
import type { NodeServices } from './services.js';

/** Makes the error kernel of `s` send its reports to central as ErrorLog messages. */
export function forwardErrorsToCentral(s: NodeServices): void {
  const c = s.config;
  const log = s.log;
  // A central node that is not the error logger has nobody to send its reports to but itself.
  const forwardErrors = !(c.node === c.centralNodeName && !c.centralErrorLogger);
  s.errors.setForwarder((text) => {
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
}

/**
 * Cancel: stops messages that the Cancel's sender sent to this node (sent by
 * `steward cancel` when the message may already be here). For each id in
 * `data`: a running execution is stopped, its whole process tree killed; a
 * queued one never runs; a finished one is left as it is; one not received
 * yet is remembered (journaled), and refused as cancelled if it comes.
 *
 * Authority: only the node that sent a message may cancel it. The sender is
 * the Cancel's `fromNode`, which the signature check proves; a Cancel naming
 * another node's message is refused for that id and reported.
 */
import { isFinalStatus, type ResultStatus } from '@steward/core';
import { FailureKind } from '../node/errorKernel.js';
import { receiverCancelsOf } from '../execution/receiverCancels.js';
import type { MethodHandler } from './types.js';

/** The Cancel method's handler. */
export const cancel: MethodHandler = {
  async run({ services: s, message }) {
    const by = message.fromNode;
    const reason = `cancelled by ${by} (Cancel ${message.id})`;
    const lines: string[] = [];
    let refused = 0;
    for (const id of new Set(message.data)) {
      const done = receiverCancelsOf(s).cancel(id, by, reason);
      if (done?.kind === 'refused' || (!done && refusedByInbox(s.journal.getInbox(id)?.message.fromNode, by))) {
        refused++;
        lines.push(`${id} refused: not sent by ${by}`);
        s.errors.report({
          kind: FailureKind.Rejected,
          text: `refused a Cancel from ${by} of message ${id}: it was sent by ${done?.kind === 'refused' ? done.sender : 'another node'}`,
          messageId: message.id,
          peer: by,
        });
        continue;
      }
      if (done) {
        lines.push(`${id} cancelled (was ${done.kind})`);
        continue;
      }
      const rec = s.journal.getInbox(id);
      if (rec) {
        // Finished (or interrupted): nothing to stop, and nothing changes.
        const state = rec.state as ResultStatus;
        lines.push(`${id} already finished: ${isFinalStatus(state) ? state : rec.state}`);
        continue;
      }
      // Not here yet: remembered durably, so it is refused as cancelled if it arrives after a restart too.
      await s.journal.rememberCancel(id, by);
      lines.push(`${id} not received yet: refused as cancelled if it comes`);
    }
    const output = lines.join('\n') + '\n';
    return refused > 0
      ? { ok: false, output, error: `${refused} id(s) refused: only a message's sender may cancel it` }
      : { ok: true, output };
  },
};

function refusedByInbox(sender: string | undefined, by: string): boolean {
  return sender !== undefined && sender !== by;
}

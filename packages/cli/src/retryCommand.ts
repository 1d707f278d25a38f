/**
 * `steward retry <id>...`: sends messages again as new messages, with the
 * same fields. The local node looks each one up in its journal, or in its
 * audit log once the journal has pruned it (see the node's
 * api/retryRequest.ts); this command then sends them with the `send`
 * request and reports like `steward send` (`--no-wait` too). A message that
 * succeeded is sent again only with `--force`; one still on its way never.
 */
import type { Argv } from 'yargs';
import type { SocketResponse } from '@steward/node/client';
import { clientOptionNames, clientOptions, connectToNode, type NodeClient } from './clientSocket.js';
import { exitCodeOfError, NodeFailedError, UsageError } from './errors.js';
import { ExitCode } from './exitCodes.js';
import { processIO, type ClientIO } from './sendCommand.js';
import { SendReport } from './sendReport.js';

/** Declares the options of `steward retry`. */
export function retryOptions<T>(y: Argv<T>) {
  return clientOptions(y)
    .positional('ids', {
      type: 'string',
      array: true,
      demandOption: true,
      describe: 'message ids (or their first or last 6 or more characters)',
    })
    .option('force', { type: 'boolean', default: false, describe: 'also send again a message that succeeded' })
    .option('wait', { type: 'boolean', default: true, describe: 'wait for the answers; --no-wait prints the new ids and exits' });
}

/** The names of every `steward retry` option. */
export const retryOptionNames = [...clientOptionNames, 'force', 'wait'];

type RetryArgs = Awaited<ReturnType<typeof retryOptions>['argv']>;

/**
 * Runs `steward retry`; resolves with the exit code: as `steward send` for
 * the messages sent again; 1 when a message is refused (it succeeded and no
 * `--force`, it is still on its way, or it is unknown) and none was sent; 5
 * when some were refused and others sent.
 */
export async function runRetry(a: RetryArgs, io: ClientIO = processIO()): Promise<number> {
  let client: NodeClient | undefined;
  try {
    const ids = (a.ids ?? []).map(String);
    if (ids.length === 0) throw new UsageError('name the ids of the messages to send again');
    client = await connectToNode(a);
    const r = await client.request({ op: 'retry', ids, force: a.force });
    if (r.type === 'error') {
      io.stderr.write(`steward retry: ${r.error}\n`);
      return r.code === 'badRequest' ? ExitCode.Usage : ExitCode.Failed;
    }
    if (r.type !== 'retry') throw new NodeFailedError(`unexpected answer from the local node: ${r.type}`);
    const refused = r.items.filter((i) => i.spec === undefined);
    for (const i of refused) io.stderr.write(`steward retry: ${i.id}: ${i.refused ?? 'not sent again'}\n`);
    const send = r.items.filter((i) => i.spec !== undefined);
    if (send.length === 0) return ExitCode.Failed;
    const report = new SendReport({
      json: a.json,
      total: send.length,
      multi: send.length > 1,
      perNode: false,
      live: false,
      out: io.stdout,
      err: io.stderr,
    });
    const final = await client.request(
      { op: 'send', wait: a.wait, messages: send.map((i) => i.spec) },
      {
        isFinal: (x) => x.type === 'error' || x.type === 'done' || (!a.wait && x.type === 'accepted'),
        onResponse: (x: SocketResponse) => {
          if (x.type === 'accepted') {
            // The new id of each, in order: the operator follows it with steward status.
            x.messages.forEach((m, k) => {
              const old = send[k];
              if (!a.json && old) io.stderr.write(`steward retry: ${old.id} (${old.from}) sent again as ${m.id}\n`);
            });
            if (!a.wait) report.accepted(x.messages);
          } else if (x.type === 'progress') report.progress(x);
          else if (x.type === 'result') {
            const { type: _type, reqId: _reqId, ...result } = x;
            report.result(result);
          }
        },
      },
    );
    if (final.type === 'error') throw new NodeFailedError(`the node refused the messages: ${final.error}`);
    const code = a.wait ? report.finish() : ExitCode.Ok;
    return refused.length === 0 ? code : code === ExitCode.Ok || code === ExitCode.Partial ? ExitCode.Partial : code;
  } catch (err) {
    io.stderr.write(`steward retry: ${(err as Error).message}\n`);
    return exitCodeOfError(err);
  } finally {
    client?.close();
  }
}

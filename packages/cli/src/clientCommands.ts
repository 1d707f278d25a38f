/**
 * The client commands, which talk to the local node over its socket:
 * `send`, `status`, `jobs` and `nodes`, as yargs command modules for main.ts.
 */
import type { CommandModule } from 'yargs';
import { cancelOptionNames, cancelOptions, runCancel } from './cancelCommand.js';
import { retryOptionNames, retryOptions, runRetry } from './retryCommand.js';
import { jobsOptionNames, jobsOptions, runJobs } from './jobsCommand.js';
import { nodesOptionNames, nodesOptions, runNodes } from './nodesCommand.js';
import { runSend, sendOptionNames, sendOptions } from './sendCommand.js';
import { runStatus, statusOptionNames, statusOptions } from './statusCommand.js';
import { runWatch, watchOptionNames, watchOptions } from './watchCommand.js';

/** The option names of each client command, for telling which STEWARD_* variables apply. */
export const clientCommandOptionNames: Readonly<Record<string, readonly string[]>> = {
  send: sendOptionNames,
  status: statusOptionNames,
  jobs: jobsOptionNames,
  nodes: nodesOptionNames,
  watch: watchOptionNames,
  cancel: cancelOptionNames,
  retry: retryOptionNames,
};

/** The client commands; each hands its exit code to `setCode`. */
export function clientCommands(setCode: (code: number) => void): CommandModule[] {
  const modules = [
    {
      command: 'send',
      describe: 'send a message to one or many nodes through the local node, wait for the answers and print them',
      builder: sendOptions,
      handler: async (a: Parameters<typeof runSend>[0]) => setCode(await runSend(a)),
    },
    {
      command: 'status <id>',
      describe: "show a message's state, attempts, times and result, from the local node's journal",
      builder: statusOptions,
      handler: async (a: Parameters<typeof runStatus>[0]) => setCode(await runStatus(a)),
    },
    {
      command: 'jobs',
      describe: 'list the messages the local node sent recently, newest first',
      builder: jobsOptions,
      handler: async (a: Parameters<typeof runJobs>[0]) => setCode(await runJobs(a)),
    },
    {
      command: 'nodes',
      describe: 'list the nodes the central node has heard from (SayHello): alive or stale, last seen, version',
      builder: nodesOptions,
      handler: async (a: Parameters<typeof runNodes>[0]) => setCode(await runNodes(a)),
    },
    {
      command: 'watch',
      describe: "follow the local node's live events (deliveries, attempts, executions, failures, restarts) until Ctrl-C",
      builder: watchOptions,
      handler: async (a: Parameters<typeof runWatch>[0]) => setCode(await runWatch(a)),
    },
    {
      command: 'cancel [ids..]',
      describe: 'take back messages the local node sent: never sent ones are withdrawn, running ones stopped on the receiver',
      builder: cancelOptions,
      handler: async (a: Parameters<typeof runCancel>[0]) => setCode(await runCancel(a)),
    },
    {
      command: 'retry <ids..>',
      describe: 'send expired, failed or cancelled messages again as new messages, with the same fields; report like send',
      builder: retryOptions,
      handler: async (a: Parameters<typeof runRetry>[0]) => setCode(await runRetry(a)),
    },
  ];
  return modules as unknown as CommandModule[];
}

export { normalizeClientArgs } from './argv.js';

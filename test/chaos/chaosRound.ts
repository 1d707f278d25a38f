/**
 * One chaos round: a broker, a sender (central) and a receiver (ship1), a stream
 * of numbered messages, and faults injected at moments drawn from a seeded PRNG:
 * kill -9 of the sender, of the receiver, of the broker; SIGSTOP/SIGCONT of a node;
 * a command that forks children and never exits. Afterwards it counts lost,
 * duplicated and out-of-order executions. The seed is printed, so a failing round
 * can be replayed exactly (`npm run chaos -- --seed N`).
 */
import { readdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import {
  makeTempDir,
  range,
  readFileOr,
  readLines,
  sequenceReport,
  startNatsServer,
  startNode,
  tailLines,
  waitFor,
  type NodeHandle,
} from '../helpers/index.js';

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of one round. */
export interface ChaosOptions {
  seed: number;
  /** Numbered TextLogging messages (idempotent: must arrive exactly once, in order). @defaultValue 200 */
  events?: number;
  /** Numbered CLICommand appends (not idempotent: at most once, in order; a gap only where the run was reported interrupted). @defaultValue 40 */
  commands?: number;
  /** Faults to inject. @defaultValue 4 */
  faults?: number;
  /** Called with a line of progress. */
  log?: (line: string) => void;
}

/** What a round found. */
export interface ChaosReport {
  seed: number;
  faults: string[];
  events: { lost: number[]; duplicated: number[]; outOfOrder: number[] };
  commands: { lost: number[]; duplicated: number[]; outOfOrder: number[]; interrupted: number[] };
  leftoverProcesses: number;
  seconds: number;
}

/** Lost, duplicated and out-of-order numbers in `lines`, against from..to. */
export function sequenceProblems(lines: string[], from: number, to: number) {
  const { lost, duplicated, outOfOrder } = sequenceReport(lines, range(from, to));
  return { lost, duplicated, outOfOrder };
}

function processesWith(marker: string): number {
  let n = 0;
  for (const pid of readdirSafe('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    if (readFileOr(`/proc/${pid}/cmdline`).includes(marker)) n++;
  }
  return n;
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Runs one round and reports what it found. Throws only when the harness itself fails. */
export async function chaosRound(opts: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const rnd = prng(opts.seed);
  const log = opts.log ?? (() => undefined);
  const events = opts.events ?? 200;
  const commands = opts.commands ?? 40;
  const faultCount = opts.faults ?? 4;
  const root = await makeTempDir(`steward-chaos-${opts.seed}-`);
  const nats = await startNatsServer();
  const central = await startNode({
    name: 'central',
    folder: join(root, 'central'),
    brokerHostPort: nats.hostPort,
    args: ['--centralErrorLogger'],
  });
  const ship1 = await startNode({ name: 'ship1', folder: join(root, 'ship1'), brokerHostPort: nats.hostPort });
  const eventFile = ship1.dataFile('central', 'ship1.EventACK.TextLogging.log');
  const commandFile = join(root, 'commands.txt');
  const marker = `chaos-${opts.seed}-${process.pid}`;

  // Input arrives in small batches while faults happen.
  const batches: string[] = [];
  const batchSize = 20;
  for (let i = 1; i <= Math.max(events, commands); i += batchSize) {
    const msgs: unknown[] = [];
    for (let n = i; n < i + batchSize; n++) {
      if (n <= events) msgs.push({ toNode: 'ship1', method: 'TextLogging', data: [`${n}\n`], timeout: 1, retries: -1 });
      if (n <= commands)
        msgs.push({
          toNode: 'ship1',
          method: 'CLICommand',
          data: ['bash', '-c', `echo ${n} >> ${commandFile}`],
          timeout: 2,
          retries: -1,
          methodTimeout: 20,
        });
    }
    batches.push(JSON.stringify(msgs) + '\n');
  }
  // A command that forks children and never exits: methodTimeout must take the whole tree.
  batches.splice(
    1,
    0,
    JSON.stringify([
      {
        toNode: 'ship1',
        method: 'CLICommandRequestNOSEQ',
        data: ['bash', '-c', `sleep 1000 ${marker} & sleep 1001 ${marker}; wait`],
        methodTimeout: 3,
        timeout: 2,
        retries: -1,
      },
    ]) + '\n',
  );

  const faults: string[] = [];
  const kinds = ['kill9 sender', 'kill9 receiver', 'kill9 broker', 'stall receiver', 'stall sender'] as const;
  const faultAt = new Set<number>();
  while (faultAt.size < Math.min(faultCount, batches.length)) faultAt.add(Math.floor(rnd() * batches.length));

  const restartNode = async (n: NodeHandle) => {
    if (!n.running) await n.restart();
  };
  for (let b = 0; b < batches.length; b++) {
    // central may be down right now (killed by a fault): inmsg.txt waits for it.
    await appendFile(join(central.folder, 'inmsg.txt'), batches[b]!);
    await sleep(50 + Math.floor(rnd() * 250));
    if (!faultAt.has(b)) continue;
    const kind = kinds[Math.floor(rnd() * kinds.length)]!;
    const pause = 200 + Math.floor(rnd() * 1500);
    faults.push(`${kind} after batch ${b} for ${pause} ms`);
    log(`seed ${opts.seed}: ${faults.at(-1)}`);
    if (kind === 'kill9 sender') {
      await central.kill9();
      await sleep(pause);
      await restartNode(central);
    } else if (kind === 'kill9 receiver') {
      await ship1.kill9();
      await sleep(pause);
      await restartNode(ship1);
    } else if (kind === 'kill9 broker') {
      await nats.kill9();
      await sleep(pause);
      await nats.restart();
    } else {
      const n = kind === 'stall receiver' ? ship1 : central;
      process.kill(n.pid, 'SIGSTOP');
      await sleep(pause);
      process.kill(n.pid, 'SIGCONT');
    }
  }

  // Everything is sent with retries -1: it all arrives once the faults are over.
  await waitFor(() => readLines(eventFile).length >= events, {
    timeoutMs: 180_000,
    message: () =>
      `seed ${opts.seed}: ${readLines(eventFile).length}/${events} events arrived;\ncentral:\n${tailLines(central.log(), 8)}\nship1:\n${tailLines(ship1.log(), 8)}`,
  });
  const outbox = () => {
    const db = new Database(join(central.folder, 'state', 'journal.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare(`SELECT message, state, reply FROM outbox WHERE subject = 'ship1.CommandACK.CLICommand'`).all() as {
        message: string;
        state: string;
        reply: string | null;
      }[];
    } finally {
      db.close();
    }
  };
  await waitFor(() => outbox().length >= commands && outbox().every((r) => r.state === 'delivered'), {
    timeoutMs: 180_000,
    message: () =>
      `seed ${opts.seed}: commands not all delivered: ${JSON.stringify(outbox().filter((r) => r.state !== 'delivered').length)} open`,
  });
  const interrupted = outbox()
    .filter((r) => r.reply && (JSON.parse(r.reply) as { status: string }).status === 'interrupted')
    .map((r) => Number(/echo (\d+) >>/.exec(r.message)?.[1]));
  await waitFor(() => processesWith(marker) === 0, {
    timeoutMs: 30_000,
    message: `seed ${opts.seed}: the forking command's children outlived methodTimeout`,
  }).catch(() => undefined);

  const ev = sequenceProblems(readLines(eventFile), 1, events);
  const cmd = sequenceProblems(readLines(commandFile), 1, commands);
  const report: ChaosReport = {
    seed: opts.seed,
    faults,
    events: ev,
    // An interrupted command was reported, not silently lost: it is not counted as lost.
    commands: { ...cmd, lost: cmd.lost.filter((n) => !interrupted.includes(n)), interrupted },
    leftoverProcesses: processesWith(marker),
    seconds: Math.round((Date.now() - started) / 1000),
  };
  await Promise.allSettled([central.stop(), ship1.stop()]);
  await nats.stop();
  return report;
}

/** Whether a report shows any loss, duplicate, reordering or leftover process. */
export function chaosFailed(r: ChaosReport): boolean {
  return (
    r.events.lost.length +
      r.events.duplicated.length +
      r.events.outOfOrder.length +
      r.commands.lost.length +
      r.commands.duplicated.length +
      r.commands.outOfOrder.length +
      r.leftoverProcesses >
    0
  );
}

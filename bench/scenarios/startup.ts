/**
 * startup: `steward start` (the built CLI, a fresh node folder) from spawn to
 * its `node <name> ready` line, and its resident memory once idle; then a
 * second start on the same folder (journal already there), timed only.
 *
 * Baseline: a plain node process that connects with nats.js, subscribes to
 * the same number of subjects a node listens on, and prints `ready`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Better, mb, median, row, sleep, type BenchContext, type Scenario, type ScenarioResult } from '../lib/scenario.js';
import { plainClient, stewardStartArgs, TimedProcess } from '../lib/processRun.js';

/** Subscriptions a default node makes (one per method it accepts). */
const nodeSubjects = 7;

interface StartSample {
  readyMs: number;
  rssIdle: number;
}

export const startup: Scenario = {
  name: 'startup',
  summary: 'node start-up time (spawn → ready) and idle RSS of one `steward start` process',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const reps = ctx.quick ? 1 : 3;
    const idleMs = ctx.quick ? 1500 : 3000;
    const cold: StartSample[] = [];
    const warm: StartSample[] = [];
    const plain: StartSample[] = [];
    const measure = async (p: TimedProcess, re: RegExp, idle = true): Promise<StartSample> => {
      try {
        const readyMs = await p.waitLine(re, 30_000);
        if (idle) await sleep(idleMs);
        return { readyMs, rssIdle: p.memory().rss };
      } finally {
        await p.stop();
      }
    };
    for (let i = 0; i < reps; i++) {
      const name = `su-${i}`;
      const folder = join(ctx.dir, name);
      mkdirSync(folder, { recursive: true });
      cold.push(await measure(TimedProcess.node(stewardStartArgs(name, folder, ctx.nats.hostPort)), new RegExp(`node ${name} ready`)));
      warm.push(
        await measure(TimedProcess.node(stewardStartArgs(name, folder, ctx.nats.hostPort)), new RegExp(`node ${name} ready`), false),
      );
      const subjects = Array.from({ length: nodeSubjects }, (_, k) => `plain-su-${i}.EventACK.m${k}`);
      plain.push(await measure(TimedProcess.node([plainClient, 'idle', ctx.nats.url, ...subjects]), /^ready$/));
      ctx.log(
        `run ${i + 1}: steward ready in ${cold.at(-1)!.readyMs.toFixed(0)} ms (again: ${warm.at(-1)!.readyMs.toFixed(0)} ms), ` +
          `RSS ${mb(cold.at(-1)!.rssIdle)} MB; plain ${plain.at(-1)!.readyMs.toFixed(0)} ms, ${mb(plain.at(-1)!.rssIdle)} MB`,
      );
    }
    const readyMs = median(cold.map((s) => s.readyMs));
    const warmMs = median(warm.map((s) => s.readyMs));
    const rss = median(cold.map((s) => s.rssIdle));
    const plainMs = median(plain.map((s) => s.readyMs));
    const plainRss = median(plain.map((s) => s.rssIdle));
    return {
      rows: [
        row({
          scenario: 'startup',
          figure: 'spawn → ready, new folder',
          value: readyMs,
          unit: 'ms',
          baseline: plainMs,
          baselineLabel: 'node + nats.js connect',
          better: Better.Lower,
          target: '≤ 2× baseline',
          met: readyMs <= 2 * plainMs,
        }),
        row({
          scenario: 'startup',
          figure: 'spawn → ready, existing journal',
          value: warmMs,
          unit: 'ms',
          baseline: plainMs,
          baselineLabel: 'node + nats.js connect',
          better: Better.Lower,
          target: '≤ 2× baseline',
          met: warmMs <= 2 * plainMs,
        }),
        row({
          scenario: 'startup',
          figure: `idle RSS after ${idleMs / 1000} s`,
          value: mb(rss),
          unit: 'MB',
          baseline: mb(plainRss),
          baselineLabel: 'node + nats.js, idle',
          better: Better.Lower,
          target: '≤ 70 MB',
          met: mb(rss) <= 70,
        }),
      ],
      details: { cold, warm, plain, idleMs },
    };
  },
};

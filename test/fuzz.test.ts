// Fuzzing of every input the core runtime has: inmsg.txt text (parser and validation,
// in process and through a live node) and raw NATS payloads on a node's subjects. No
// crash, no hang, every valid message delivered, every invalid one reported by field.
// STEWARD_FUZZ_CASES sets the number of cases per input (the chaos run uses 10000).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parseInmsg, parseMessageSpec, ValidationError } from '@steward/core';
import {
  cleanupHarness,
  makeTempDir,
  readFileOr,
  startNatsServer,
  startNode,
  tailLines,
  waitFor,
  inboxRows,
  outboxRows,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';
import { Mutator } from './chaos/mutate.js';

const cases = Number(process.env.STEWARD_FUZZ_CASES ?? 2000);
const seed = Number(process.env.STEWARD_FUZZ_SEED ?? Date.now() % 1_000_000);

after(cleanupHarness);

describe(`fuzz (seed ${seed}, ${cases} cases per input)`, () => {
  it('inmsg text: the parser never throws and every refusal names a field or a line', () => {
    const m = new Mutator(seed);
    let valid = 0;
    let invalid = 0;
    for (let i = 0; i < cases; i++) {
      const text = m.text();
      const { entries, failures } = parseInmsg(text);
      for (const f of failures) {
        assert.ok(f.line >= 1 && f.reason.length > 0, `case ${i}: ${JSON.stringify(f)}`);
        invalid++;
      }
      for (const e of entries) {
        try {
          parseMessageSpec(e.value);
          valid++;
        } catch (err) {
          assert.ok(err instanceof ValidationError, `case ${i}: ${String(err)} for ${text}`);
          assert.ok(err.problems.length > 0 && err.problems.every((p) => p.field && p.reason), `case ${i}: ${err.message}`);
          invalid++;
        }
      }
    }
    assert.ok(valid > 0 && invalid > 0, `the mutations exercise both paths (valid ${valid}, invalid ${invalid})`);
  });

  describe('through live nodes', () => {
    let nats: NatsServerHandle;
    let central: NodeHandle;
    let nc: NatsConnection;
    before(async () => {
      nats = await startNatsServer();
      const root = await makeTempDir('steward-fuzz-');
      central = await startNode({
        name: 'central',
        folder: join(root, 'central'),
        brokerHostPort: nats.hostPort,
        args: ['--centralErrorLogger'],
      });
      nc = await connect({ servers: nats.url });
    });
    after(() => nc?.close());

    it(
      'inmsg.txt: every valid TextLogging entry is delivered once, every invalid one is kept in the rejected file',
      { timeout: 300_000 },
      async () => {
        const m = new Mutator(seed + 1);
        const n = Math.min(cases, 1000);
        let text = '';
        let expectValid = 0;
        let lines = 0;
        for (let i = 0; i < n; i++) {
          // Valid entries are TextLogging to central itself, each with a unique line, so deliveries can be counted.
          if (m.int(2)) {
            text += JSON.stringify([{ toNode: 'central', method: 'TextLogging', data: [`fuzz-${i}\n`] }]) + '\n';
            expectValid++;
            lines++;
          } else {
            const bad = m.text();
            // Only clearly broken values: a mutated one that is still valid would be sent (to ship1, offline).
            text += `${bad}\n`;
          }
        }
        await central.inmsg(text);
        const file = central.dataFile('central', 'central.EventACK.TextLogging.log');
        // A mutated entry that is still valid may append text without a newline, so count marks, not lines.
        const marks = () => readFileOr(file).match(/fuzz-\d+\n/g) ?? [];
        await waitFor(() => marks().length >= lines, {
          timeoutMs: 240_000,
          message: () => {
            // Where the missing ones are: unfinished on the sending side, or received and not run.
            const open = outboxRows(central).filter((r) => r.subject === 'central.EventACK.TextLogging' && r.state !== 'delivered');
            const unrun = inboxRows(central).filter((r) => r.subject === 'central.EventACK.TextLogging' && r.state !== 'succeeded');
            return (
              `${marks().length}/${lines} delivered; outbox not delivered: ${JSON.stringify(open.map((r) => [r.id, r.state, r.attempts, r.lastError]))}; ` +
              `inbox not succeeded: ${JSON.stringify(unrun.map((r) => [r.id, r.state, r.result]))};\n${tailLines(central.log(), 10)}`
            );
          },
        });
        const got = marks();
        assert.equal(new Set(got).size, got.length, 'no entry delivered twice');
        assert.equal(got.length, expectValid);
        const rejected = readFileOr(join(central.folder, 'inmsg.rejected.txt'));
        for (const reason of rejected.split('\n').filter((l) => l.startsWith('# '))) {
          assert.match(reason, /inmsg\.txt value \d+.*\(line \d+\): .+/, reason);
        }
        assert.equal(central.running, true);
      },
    );

    it('socket requests: every malformed line is answered with an error, the node keeps serving', { timeout: 300_000 }, async () => {
      const m = new Mutator(seed + 3);
      const sock = createConnection(join(central.folder, 'steward.sock'));
      await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
      let buffered = '';
      const responses: Record<string, unknown>[] = [];
      sock.on('data', (b: Buffer) => {
        buffered += b.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          responses.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
          buffered = buffered.slice(nl + 1);
        }
      });
      const ops = ['send', 'status', 'jobs', 'nodes', 'ping', 'nope', 7, null];
      let sent = 0;
      for (let i = 0; i < cases; i++) {
        const r = m.int(3);
        // Mutated requests: wrong ops, wrong fields and types, garbage text, invalid messages (never wait: true).
        const line =
          r === 0
            ? m.payload().replace(/\n/g, ' ')
            : JSON.stringify({
                op: m.pick(ops),
                reqId: i,
                ...(m.int(2) ? { id: m.pick(['', 'x', '../..', 5]) } : {}),
                ...(m.int(2) ? { messages: [m.value()], wait: false } : {}),
                ...(m.int(3) === 0 ? { extra: 1 } : {}),
              });
        sock.write(line + '\n');
        sent++;
      }
      sock.write(JSON.stringify({ op: 'ping', reqId: 'final' }) + '\n');
      await waitFor(() => responses.some((r) => r.reqId === 'final' && r.type === 'pong'), {
        timeoutMs: 240_000,
        message: () => `no pong after ${sent} fuzz lines (${responses.length} responses)`,
      });
      assert.ok(responses.filter((r) => r.type === 'error').length > sent / 4, 'most mutated lines are refused with an error');
      sock.end();
      assert.equal(central.running, true);
    });

    it('readfolder files: every file is taken, invalid ones set aside, the node keeps serving', { timeout: 300_000 }, async () => {
      const m = new Mutator(seed + 4);
      const folder = join(central.folder, 'readfolder');
      const n = Math.min(cases, 2000);
      for (let i = 0; i < n; i++) await writeFile(join(folder, `fuzz-${i}.json`), m.text());
      await waitFor(async () => (await readdir(folder)).filter((f) => f.startsWith('fuzz-')).length === 0, {
        timeoutMs: 240_000,
        message: () => `${readdirSync(folder).filter((f) => f.startsWith('fuzz-')).length} of ${n} files still waiting`,
      });
      assert.ok((await readdir(join(folder, 'rejected'))).length > 0, 'invalid files are kept in readfolder/rejected');
      assert.equal(central.running, true);
    });

    it('raw NATS payloads: every request is answered, the node keeps serving', { timeout: 300_000 }, async () => {
      const m = new Mutator(seed + 2);
      const subjects = [
        'central.EventACK.TextLogging',
        'central.CommandACK.CLICommand',
        'central.EventACK.ECHORequest',
        'central.EventNACK.TextLogging',
      ];
      // Counted apart: what was asked (requests, and which of them cannot even be JSON)
      // and what came back, so a lost or wrong answer shows as a difference.
      let requests = 0;
      let notJson = 0;
      let answers = 0;
      let rejected = 0;
      const batch = 200;
      for (let i = 0; i < cases; i += batch) {
        await Promise.all(
          Array.from({ length: Math.min(batch, cases - i) }, async () => {
            const subject = m.pick(subjects);
            const payload = m.payload();
            if (subject.includes('NACK')) {
              nc.publish(subject, payload);
              return;
            }
            requests++;
            const garbage = !isJson(payload);
            if (garbage) notJson++;
            const r = await nc.request(subject, payload, { timeout: 20_000 });
            const ack = r.json<{ status: string; error?: string }>();
            answers++;
            assert.ok(['rejected', 'received', 'succeeded', 'failed', 'timedOut'].includes(ack.status), JSON.stringify(ack));
            if (ack.status === 'rejected') {
              rejected++;
              assert.match(ack.error ?? '', /field "|not JSON|larger than/, ack.error);
            }
            if (garbage) assert.equal(ack.status, 'rejected', `a payload that is not JSON is refused: ${JSON.stringify(ack)}`);
          }),
        );
      }
      assert.equal(answers, requests, 'every request got exactly one answer');
      assert.ok(requests > 0 && notJson > 0, `the mutations include requests (${requests}) and non-JSON payloads (${notJson})`);
      assert.ok(rejected >= notJson, `at least every non-JSON payload is rejected (${rejected} rejected, ${notJson} not JSON)`);
      const ok = await nc.request(
        'central.EventACK.ECHORequest',
        JSON.stringify({
          id: 'after-fuzz',
          fromNode: 'central',
          createdAt: Date.now(),
          toNode: 'central',
          method: 'ECHORequest',
          commandOrEvent: 'EventACK',
          data: ['alive'],
          timeout: 5,
          retries: 0,
          methodTimeout: 5,
        }),
        { timeout: 20_000 },
      );
      assert.equal(ok.json<{ status: string }>().status, 'received');
      assert.equal(central.running, true);
    });
  });
});

/** Whether `text` parses as JSON at all (what the node checks first). */
function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

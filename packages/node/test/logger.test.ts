/**
 * The node's log formats: text for people, JSON lines for machines, and
 * `auto` choosing between them; lines about a message name its id, subject
 * and node.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, resolveLogFormat, setSubjectResolver, type LoggerOptions } from '../src/observability/logger.js';

/** A logger writing into memory; `lines()` waits for winston to flush. */
function capture(opts: Omit<LoggerOptions, 'stream'>) {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  const log = createLogger({ ...opts, stream });
  return {
    log,
    lines: async () => {
      await new Promise((r) => setImmediate(r));
      return text.split('\n').filter(Boolean);
    },
  };
}

describe('logger', () => {
  it('auto means text on a terminal and JSON otherwise; text stays the default', () => {
    assert.equal(resolveLogFormat('auto', true), 'text');
    assert.equal(resolveLogFormat('auto', false), 'json');
    assert.equal(resolveLogFormat('json', true), 'json');
    assert.equal(resolveLogFormat('text', false), 'text');
    assert.equal(resolveLogFormat(undefined, false), 'text');
  });

  it('writes text lines; a line about a message names its node', async () => {
    const { log, lines } = capture({ node: 'ship1', format: 'text' });
    log.info('node ship1 ready', { methods: 'A,B' });
    log.info('resending (attempt 2)', { id: 'abc', subject: 'central.EventACK.ErrorLog' });
    log.error('boom', { kind: 'x', cause: 'has spaces "and quotes"' });
    const [ready, resend, boom] = await lines();
    assert.match(ready!, /^\d{4}-\d\d-\d\dT\S+Z INFO  node ship1 ready methods=A,B$/);
    assert.match(resend!, /INFO  resending \(attempt 2\) id=abc subject=central\.EventACK\.ErrorLog node=ship1$/);
    assert.match(boom!, /ERROR boom kind=x cause="has spaces \\"and quotes\\""$/);
  });

  it('writes one JSON object per line with time, level, node and message first', async () => {
    const { log, lines } = capture({ node: 'ship1', format: 'json' });
    log.info('duplicate answered from the journal, not run again', { id: 'abc', subject: 'ship1.EventACK.TextLogging' });
    log.warn('with an error', { error: new Error('inner'), n: 10n });
    const [dup, warn] = await lines();
    assert.ok(dup!.includes('duplicate answered from the journal'), 'the words are kept, so text searches still find them');
    const r = JSON.parse(dup!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(r), ['time', 'level', 'node', 'message', 'id', 'subject']);
    assert.equal(r.node, 'ship1');
    assert.equal(r.level, 'info');
    const w = JSON.parse(warn!) as Record<string, unknown>;
    assert.deepEqual(w.error, { name: 'Error', message: 'inner' });
    assert.equal(w.n, '10');
  });

  it('fills in the subject of a line that names only the message id', async () => {
    const { log, lines } = capture({ node: 'ship1', format: 'json' });
    setSubjectResolver(log, (id) => (id === 'known' ? 'ship1.CommandACK.CLICommand' : undefined));
    log.warn('could not send ACK', { id: 'known' });
    log.warn('could not send ACK', { id: 'unknown' });
    log.warn('has its own', { id: 'known', subject: 'given' });
    const [a, b, c] = (await lines()).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(a!.subject, 'ship1.CommandACK.CLICommand');
    assert.equal(b!.subject, undefined);
    assert.equal(c!.subject, 'given');
  });
});

/**
 * The error kernel's refusal windows: a flood of refusals becomes one report
 * per sender and code per window, plus a summary carrying the count; every
 * refusal still reaches the listeners (metrics) at once.
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { ErrorKernel, FailureKind, refusalCode, type Failure } from '../src/node/errorKernel.js';
import type { Logger } from '../src/observability/logger.js';

function kernel(opts: { maxRefusalSenders?: number } = {}) {
  const lines: string[] = [];
  const sent: string[] = [];
  const log = { error: (text: string) => lines.push(text) } as unknown as Logger;
  const k = new ErrorKernel('ship', log, { refusalWindowMs: 10_000, ...opts });
  k.setForwarder((t) => sent.push(t));
  let seen = 0;
  k.listeners.push(() => seen++);
  return { k, lines, sent, seen: () => seen };
}

const forged = (peer: string, code = 'badSignature'): Failure => ({
  kind: FailureKind.Rejected,
  text: `refused CLICommand from ${peer} on ship.CommandACK.CLICommand: ${code}: the signature does not verify`,
  subject: 'ship.CommandACK.CLICommand',
  peer,
  messageId: 'x',
});

describe('error kernel refusal windows', () => {
  it('reports the first refusal at once and the rest as one summary with the count', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const { k, lines, sent, seen } = kernel();
      for (let i = 0; i < 3000; i++) k.report(forged('ship2'));
      assert.equal(seen(), 3000, 'every refusal counted at once');
      assert.equal(sent.length, 1);
      assert.equal(lines.length, 1);
      mock.timers.tick(10_000);
      assert.equal(sent.length, 2);
      assert.match(
        sent[1]!,
        /refused 2,999 more CLICommand messages from ship2 \(code badSignature\) in the last 10 s; first: refused CLICommand/,
      );
      assert.equal(lines.length, 2);
      // Still under fire: no new report of its own, only the next summary.
      k.report(forged('ship2'));
      assert.equal(sent.length, 2);
      mock.timers.tick(10_000);
      assert.match(sent[2]!, /refused 1 more CLICommand messages from ship2/);
      // A quiet window closes it; the next refusal is reported at once again.
      mock.timers.tick(10_000);
      k.report(forged('ship2'));
      assert.equal(sent.length, 4);
      assert.doesNotMatch(sent[3]!, / more /);
    } finally {
      mock.timers.reset();
    }
  });

  it('keeps codes and senders apart, caps invented sender names into one summary', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const { k, sent, seen } = kernel({ maxRefusalSenders: 3 });
      k.report(forged('a', 'acl'));
      k.report(forged('a', 'badSignature'));
      k.report(forged('b'));
      assert.equal(sent.length, 3);
      for (let i = 0; i < 1000; i++) k.report(forged(`inv${i}`, 'untrusted'));
      assert.equal(seen(), 1003);
      assert.equal(sent.length, 4, 'one report for the first sender beyond the cap');
      mock.timers.tick(10_000);
      assert.equal(sent.length, 5);
      assert.match(sent[4]!, /refused 999 more messages from 999 other senders \(codes untrusted\)/);
    } finally {
      mock.timers.reset();
    }
  });

  it('keeps methods apart: an ACL refusing two methods of one node is two things to fix', () => {
    const { k, sent } = kernel();
    const acl = (method: string): Failure => ({
      kind: FailureKind.Rejected,
      text: `refused ${method} from central on ship.CommandACK.${method}: acl: not allowed`,
      subject: `ship.CommandACK.${method}`,
      peer: 'central',
    });
    k.report(acl('CLICommand'));
    k.report(acl('ECHORequest'));
    k.report(acl('ECHORequest'));
    assert.equal(sent.length, 2);
  });

  it('reports failures that are not refusals, and operator input errors, one by one', () => {
    const { k, sent } = kernel();
    for (let i = 0; i < 5; i++) k.report({ kind: FailureKind.DeliveryExpired, text: 'expired', peer: 'ship2' });
    for (let i = 0; i < 5; i++) k.report({ kind: FailureKind.BadInput, text: 'inmsg.txt value 1 rejected: bad' });
    // A message that passed the checks and was rejected by its method: a proven sender, journaled, reported each time.
    const executed = {
      kind: FailureKind.Rejected,
      text: 'CLICommandRequest from ship2 rejected: x',
      peer: 'ship2',
      subject: 's.EventACK.M',
    };
    for (let i = 0; i < 5; i++) k.report(executed);
    assert.equal(sent.length, 15);
  });

  it('derives a reason code from the text', () => {
    assert.equal(refusalCode(forged('a', 'acl')), 'acl');
    assert.equal(refusalCode({ kind: FailureKind.BadInput, text: 'refused a message on s: not JSON: Unexpected token' }), 'notJson');
    assert.equal(
      refusalCode({ kind: FailureKind.BadInput, text: 'refused a message on s: field "(payload)": larger than 1 bytes' }),
      'tooLarge',
    );
    assert.equal(refusalCode({ kind: FailureKind.Rejected, text: 'x', code: 'given' }), 'given');
    assert.equal(refusalCode({ kind: FailureKind.Rejected, text: 'CLICommandRequest from ship2 rejected: field "fileName"' }), undefined);
  });

  it('flush() reports what open windows gathered', () => {
    const { k, sent } = kernel();
    k.report(forged('ship2'));
    k.report(forged('ship2'));
    k.flush();
    assert.equal(sent.length, 2);
    assert.match(sent[1]!, /refused 1 more CLICommand messages from ship2/);
  });
});

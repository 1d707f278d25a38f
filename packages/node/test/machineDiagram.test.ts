/**
 * The machine drawings of the inspector: the graph read from the real
 * machine definitions, and the SVG drawn from it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deliveryMachine, executionMachine, supervisorMachine } from '@steward/core';
import { machineGraph, type MachineGraph } from '../src/inspector/machineGraph.js';
import { escapeXml, labelLines, renderMachineSvg } from '../src/inspector/machineSvg.js';

function edge(g: MachineGraph, from: string, to: string): string[] | undefined {
  return g.edges.find((e) => e.from === from && e.to === to)?.labels;
}

describe('machineGraph', () => {
  it('reads the delivery machine: its top-level states, final states and labelled transitions', () => {
    const g = machineGraph(deliveryMachine);
    assert.equal(g.id, 'delivery');
    assert.equal(g.initial, 'queued');
    assert.deepEqual(
      g.states.map((s) => s.key),
      ['queued', 'sending', 'awaitingAck', 'retryWait', 'delivered', 'expired', 'cancelled'],
    );
    assert.deepEqual(
      g.states.filter((s) => s.final).map((s) => s.key),
      ['delivered', 'expired', 'cancelled'],
    );
    assert.deepEqual(edge(g, 'queued', 'sending'), ['SEND']);
    // The publish action answers for its own attempt.
    assert.deepEqual(edge(g, 'sending', 'awaitingAck'), ['PUBLISHED [thisAttemptWantsAck]']);
    assert.deepEqual(edge(g, 'sending', 'retryWait'), ['PUBLISH_FAILED [thisAttempt]']);
    assert.deepEqual(edge(g, 'awaitingAck', 'retryWait'), ['after ackTimeout [else]']);
    // Transitions out of the sub-states of retryWait are drawn from retryWait itself.
    assert.deepEqual(edge(g, 'retryWait', 'sending'), ['after retryDelay']);
    // Retries used up, or the message's deadline (ttl) passed while it waited.
    assert.deepEqual(edge(g, 'retryWait', 'expired'), ['DEADLINE', 'always [deadlinePassed]', 'always [else]']);
    assert.deepEqual(edge(g, 'queued', 'expired'), ['DEADLINE']);
    assert.deepEqual(g.states.find((s) => s.key === 'retryWait')?.substates, ['deciding', 'waiting']);
    // Re-entering awaitingAck (its timer restarted) is an arrow back to itself.
    // So is waiting out an ACK timeout while the receiver answers the messages ahead.
    assert.deepEqual(edge(g, 'awaitingAck', 'awaitingAck'), ['RUNNING', 'after ackTimeout [receiverAnsweringOthers]']);
    // Handled in place: a cancel while the send is out, no responders, a deadline while the ACK may still come.
    assert.deepEqual(g.states.find((s) => s.key === 'awaitingAck')?.internal, ['CANCEL', 'NO_RESPONDERS', 'DEADLINE']);
    // Publishing is an entry action, not an invoked actor: no child actor per send.
    assert.deepEqual(g.states.find((s) => s.key === 'sending')?.invokes, []);
  });

  it('reads the execution and supervisor machines', () => {
    const e = machineGraph(executionMachine);
    assert.equal(e.initial, 'received');
    assert.deepEqual(edge(e, 'received', 'running'), ['always [else]']);
    assert.equal(edge(e, 'received', 'rejected'), undefined, 'refused messages never get an execution');
    assert.deepEqual(edge(e, 'running', 'timedOut'), ['after methodTimeout [hasMethodTimeout]']);
    // A reply that fails fails the actor (its owner reports it): the only edge to replied is REPLIED.
    assert.deepEqual(edge(e, 'failed', 'replied'), ['REPLIED']);
    assert.deepEqual(edge(e, 'running', 'succeeded'), ['METHOD_DONE [methodOk]']);
    const s = machineGraph(supervisorMachine);
    assert.deepEqual(
      s.states.map((x) => x.key),
      ['supervising', 'escalated'],
    );
    assert.deepEqual(edge(s, 'supervising', 'escalated'), ['ESCALATE']);
    assert.ok(s.states[0]!.internal.includes('CHILD_FAILED'));
    assert.ok(s.states[0]!.internal.includes('child error'), 'the xstate.error.actor.* wildcard reads as "child error"');
  });
});

describe('renderMachineSvg', () => {
  for (const machine of [deliveryMachine, executionMachine, supervisorMachine]) {
    it(`draws every state and transition of the ${machine.id} machine`, () => {
      const g = machineGraph(machine);
      const svg = renderMachineSvg(g);
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="machine"/);
      assert.ok(svg.endsWith('</svg>'));
      for (const s of g.states) assert.ok(svg.includes(`data-state="${s.key}"`), s.key);
      for (const e of g.edges) assert.ok(svg.includes(`data-from="${e.from}" data-to="${e.to}"`), `${e.from}→${e.to}`);
      // Well formed enough for innerHTML: groups balance, no script, no NaN coordinates.
      assert.equal(svg.match(/<g[ >]/g)?.length, svg.match(/<\/g>/g)?.length);
      assert.doesNotMatch(svg, /<script|NaN|undefined|Infinity/);
      const vb = /viewBox="(-?\d+) (-?\d+) (\d+) (\d+)"/.exec(svg);
      assert.ok(vb && Number(vb[3]) > 100 && Number(vb[4]) > 60, 'a sensible view box');
    });
  }

  it('escapes what it writes', () => {
    const svg = renderMachineSvg({
      id: 'x"<y>',
      initial: 'a&b',
      states: [
        { key: 'a&b', final: false, substates: [], internal: ['<evil>'], invokes: [] },
        { key: 'c', final: true, substates: [], internal: [], invokes: [] },
      ],
      edges: [{ from: 'a&b', to: 'c', labels: ['go "now"'] }],
    });
    assert.ok(svg.includes('data-state="a&amp;b"'));
    assert.ok(svg.includes('&lt;evil&gt;'));
    assert.ok(svg.includes('go &quot;now&quot;'));
    assert.doesNotMatch(svg, /<evil>/);
    assert.equal(escapeXml(`<'&">`), '&lt;&#39;&amp;&quot;&gt;');
  });

  it('merges labels that share their first word and wraps long ones', () => {
    assert.deepEqual(labelLines(['reply done', 'reply error']), ['reply done / error']);
    assert.deepEqual(labelLines(['ACK', 'publish done [else]']), ['ACK', 'publish done [else]']);
    assert.deepEqual(labelLines(['after methodTimeout [hasMethodTimeout]']), ['after methodTimeout', '[hasMethodTimeout]']);
  });
});

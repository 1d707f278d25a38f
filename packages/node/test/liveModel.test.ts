/**
 * The inspector's live model and view, fed with the node's event stream as
 * the runtime emits it, and walked over a real supervision tree.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../../../test/helpers/waitFor.js';
import { createActor } from 'xstate';
import { processLogic, supervisorMachine, type AckReply, type WireMessage } from '@steward/core';
import { LiveModel } from '../src/inspector/liveModel.js';
import { buildView, pageActors, type TreeNode } from '../src/inspector/viewModel.js';
import { listProcesses } from '../src/observability/processList.js';
import { NodeEvents, type DeliveryEvent } from '../src/node/nodeEvents.js';
import { publisherGroupOf } from '../src/delivery/publisherGroups.js';

function wire(id: string, toNode = 'ship1', method = 'TextLogging', fromNode = 'central'): WireMessage {
  return {
    id,
    toNode,
    fromNode,
    method,
    commandOrEvent: 'EventACK',
    data: ['x'],
    createdAt: 0,
    timeout: 1,
    retries: 1,
    methodTimeout: 10,
  } as WireMessage;
}

function delivery(events: NodeEvents, id: string, state: string, time: number, extra: Partial<DeliveryEvent> = {}): void {
  const message = wire(id);
  events.emit('delivery', { id, subject: `ship1.EventACK.TextLogging`, message, state, attempts: 1, time, ...extra });
}

describe('LiveModel', () => {
  it('tracks a delivery from queued to delivered, with its timeline', () => {
    const events = new NodeEvents();
    let now = 1000;
    const live = new LiveModel(events, {}, () => now);
    delivery(events, 'm1', 'queued', 1000, { attempts: 0 });
    delivery(events, 'm1', 'sending', 1001);
    delivery(events, 'm1', 'awaitingAck', 1002);
    assert.equal(live.activeCount('delivery'), 1);
    assert.equal(live.actorsOf('root/publishers/g11/ship1.EventACK.TextLogging')[0]?.state, 'awaitingAck');
    assert.equal(live.subjectOf('m1'), 'ship1.EventACK.TextLogging');
    const reply: AckReply = { id: 'm1', node: 'ship1', status: 'received' } as AckReply;
    delivery(events, 'm1', 'delivered', 1500, { reply });
    assert.equal(live.activeCount(), 0);
    assert.equal(live.totals.delivered, 1);
    const { actors, timeline } = live.message('m1');
    assert.equal(actors[0]?.state, 'delivered');
    assert.equal(actors[0]?.finishedAt, 1500);
    assert.equal(actors[0]?.status, 'received');
    assert.deepEqual(
      timeline.map((t) => t.state),
      ['queued', 'sending', 'awaitingAck', 'delivered'],
    );
    assert.equal(timeline.at(-1)?.detail, 'ACK received');
    // A finished actor lingers under its process for a while, then only the recent list has it.
    now = 1500 + 30_000;
    assert.equal(live.actorsOf('root/publishers/g11/ship1.EventACK.TextLogging').length, 1);
    now = 1500 + 61_000;
    assert.equal(live.actorsOf('root/publishers/g11/ship1.EventACK.TextLogging').length, 0);
    assert.equal(live.recent(5)[0]?.id, 'm1');
  });

  it('counts an execution once although the subscriber and the machine both report "replied"', () => {
    const events = new NodeEvents();
    const live = new LiveModel(events);
    const message = wire('e1', 'ship1', 'CLICommand');
    const base = { id: 'e1', subject: 'ship1.CommandACK.CLICommand', message };
    events.emit('execution', { ...base, state: 'running', time: 1 });
    assert.equal(live.activeCount('execution'), 1);
    assert.equal(live.actorsOf('root/subscribers/CLICommand')[0]?.peer, 'central');
    events.emit('execution', { ...base, state: 'failed', time: 2 });
    const result = { id: 'e1', node: 'ship1', status: 'failed', error: 'exit code 3' } as AckReply;
    events.emit('execution', { ...base, state: 'replied', result, time: 3 });
    events.emit('execution', { ...base, state: 'replied', time: 3 });
    assert.equal(live.activeCount(), 0);
    assert.equal(live.totals.executed, 1);
    assert.deepEqual(
      live.message('e1').timeline.map((t) => `${t.state}${t.detail ? `:${t.detail}` : ''}`),
      ['running', 'failed', 'replied:failed: exit code 3'],
    );
  });

  it('forgets the actors of a process that failed, and keeps its restarts and the failures', () => {
    const events = new NodeEvents();
    const live = new LiveModel(events);
    delivery(events, 'm2', 'awaitingAck', 1);
    events.emit('supervisor', {
      type: 'child.failed',
      supervisor: 'publishers/g11',
      childId: 'ship1.EventACK.TextLogging',
      error: new Error('boom'),
    });
    events.emit('supervisor', {
      type: 'child.restarting',
      supervisor: 'publishers/g11',
      childId: 'ship1.EventACK.TextLogging',
      delayMs: 100,
      restartCount: 1,
    });
    assert.equal(live.activeCount(), 0);
    const health = live.processHealth().get('root/publishers/g11/ship1.EventACK.TextLogging');
    assert.equal(health?.restarts, 1);
    assert.equal(health?.lastFailure, 'boom');
    assert.deepEqual(
      live.supervision(5).map((s) => s.type),
      ['child.restarting', 'child.failed'],
    );
    events.emit('failure', { kind: 'deliveryExpired', text: 'delivery to ghost expired', messageId: 'm2', subject: 's' });
    assert.equal(live.failures(1)[0]?.text, 'delivery to ghost expired');
    assert.equal(live.message('m2').timeline.at(-1)?.kind, 'failure');
    assert.equal(live.totals.failures, 1);
  });

  it('stays bounded: timelines, their length and the finished list', () => {
    const events = new NodeEvents();
    const live = new LiveModel(events, { timelines: 10, timelineLength: 8, finished: 5 });
    for (let i = 0; i < 50; i++) {
      delivery(events, `n${i}`, 'sending', i);
      delivery(events, `n${i}`, 'delivered', i + 1);
    }
    assert.equal(live.message('n0').timeline.length, 0, 'the oldest timelines are dropped');
    assert.equal(live.message('n49').timeline.length, 2);
    assert.deepEqual(
      live.recent(100).map((a) => a.id),
      ['n49', 'n48', 'n47', 'n46', 'n45'],
    );
    for (let a = 1; a <= 30; a++) {
      delivery(events, 'busy', 'sending', 100 + a, { attempts: a });
      delivery(events, 'busy', 'retryWait', 100 + a, { attempts: a, lastError: 'no ACK' });
    }
    const t = live.message('busy').timeline;
    assert.equal(t.length, 8);
    assert.equal(t[0]?.attempts, 1, 'the first events are kept');
    assert.equal(t.at(-1)?.attempts, 30, 'and the latest');
  });
});

describe('buildView', () => {
  it('walks the real supervision tree and hangs the message actors under their processes', async () => {
    const events = new NodeEvents();
    const live = new LiveModel(events);
    const idle = processLogic<undefined>(() => ({ stop: () => undefined }));
    const root = createActor(supervisorMachine, {
      input: {
        name: 'root',
        children: [
          {
            id: 'publishers',
            logic: supervisorMachine,
            input: {
              name: 'publishers',
              // Publishers sit in group supervisors (see publisherGroups.ts): ship1's subject hashes to g11, ship2's to g08.
              children: [
                {
                  id: 'g11',
                  logic: supervisorMachine,
                  input: { name: 'publishers/g11', children: [{ id: 'ship1.EventACK.TextLogging', logic: idle }] },
                },
                {
                  id: 'g08',
                  logic: supervisorMachine,
                  input: { name: 'publishers/g08', children: [{ id: 'ship2.EventACK.TextLogging', logic: idle }] },
                },
              ],
            },
          },
          { id: 'housekeeping', logic: idle },
        ],
      },
    });
    root.start();
    // The tree is built step by step (each supervisor spawns its children when it starts).
    await waitFor(() => listProcesses(root).length === 3, { timeoutMs: 10_000, intervalMs: 5, message: 'the three processes to start' });
    for (let i = 0; i < 12; i++) delivery(events, `m${i}`, i % 2 ? 'retryWait' : 'awaitingAck', i);

    const view = buildView({ node: 'central', version: '1', startedAt: 0, brokerConnected: true, root, live, perProcess: 5 });
    assert.equal(view.tree.kind, 'node');
    assert.equal(view.tree.id, 'central');
    assert.equal(view.tree.state, 'supervising');
    const pubs = view.tree.children?.find((c) => c.id === 'publishers') as TreeNode;
    assert.equal(pubs.kind, 'supervisor');
    const ship1 = pubs.children?.find((c) => c.id === 'g11')?.children?.find((c) => c.id === 'ship1.EventACK.TextLogging');
    assert.equal(ship1?.state, 'running');
    assert.equal(ship1?.messages?.active, 12);
    assert.equal(ship1?.messages?.items.length, 5, 'only the first few are listed');
    assert.deepEqual(ship1?.messages?.byState, { awaitingAck: 6, retryWait: 6 });
    assert.deepEqual(
      listProcesses(root).map((p) => p.path),
      ['root/publishers/g11/ship1.EventACK.TextLogging', 'root/publishers/g08/ship2.EventACK.TextLogging', 'root/housekeeping'],
    );

    // The rest is paged.
    const page = pageActors(live, 'root/publishers/g11/ship1.EventACK.TextLogging', 10, 5);
    assert.equal(page.total, 12);
    assert.deepEqual(
      page.items.map((a) => a.id),
      ['m10', 'm11'],
    );
    assert.equal(pageActors(live, 'root/publishers/g11/ship1.EventACK.TextLogging', 0, 50, 'retryWait').total, 6);

    // A filter keeps the matching processes.
    const filtered = buildView({ node: 'central', version: '1', startedAt: 0, brokerConnected: true, root, live, filter: 'ship2' });
    const fp = filtered.tree.children?.find((c) => c.id === 'publishers');
    assert.deepEqual(
      fp?.children?.map((c) => c.id),
      ['g08'],
      'only the group that holds a match',
    );
    assert.deepEqual(
      fp?.children?.[0]?.children?.map((c) => c.id),
      ['ship2.EventACK.TextLogging'],
    );
    assert.equal(fp?.hiddenChildren, 1);
    root.stop();
  });

  it('caps the processes it lists, busy ones first', async () => {
    const events = new NodeEvents();
    const live = new LiveModel(events);
    const idle = processLogic<undefined>(() => ({ stop: () => undefined }));
    const children = Array.from({ length: 300 }, (_, i) => ({ id: `n${String(i).padStart(3, '0')}.EventACK.TextLogging`, logic: idle }));
    // All in the group that n299's subject hashes to, as one group supervisor with 300 publishers.
    const group = publisherGroupOf('n299.EventACK.TextLogging');
    const groupSpec = { id: group, logic: supervisorMachine, input: { name: `publishers/${group}`, children } };
    const root = createActor(supervisorMachine, {
      input: {
        name: 'root',
        children: [{ id: 'publishers', logic: supervisorMachine, input: { name: 'publishers', children: [groupSpec] } }],
      },
    });
    root.start();
    await waitFor(() => listProcesses(root).length === 300, { timeoutMs: 10_000, intervalMs: 5, message: 'the 300 publishers to start' });
    events.emit('delivery', {
      id: 'x',
      subject: 'n299.EventACK.TextLogging',
      message: wire('x', 'n299'),
      state: 'sending',
      attempts: 1,
      time: 1,
    });
    const view = buildView({ node: 'c', version: '1', startedAt: 0, brokerConnected: true, root, live, maxProcesses: 20 });
    const pubs = view.tree.children?.[0]?.children?.[0];
    assert.equal(pubs?.children?.length, 20);
    assert.equal(pubs?.hiddenChildren, 280);
    assert.equal(pubs?.children?.[0]?.id, 'n299.EventACK.TextLogging', 'the busy one is listed first');
    root.stop();
  });
});

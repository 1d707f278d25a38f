/**
 * The node-wide in-flight budget (`--maxInFlight`): however many subjects a
 * node has to send on, it keeps no more messages on the wire than the budget
 * plus the first of each subject, and every subject still gets through, in
 * order. Real nats-server, real nodes; the receivers are first a bare NATS
 * client that takes messages and never answers, then real nodes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect, type NatsConnection } from '@nats-io/transport-node';

import {
  assertSequence,
  cleanupHarness,
  makeTempDir,
  range,
  readLines,
  startNatsServer,
  startNode,
  tailLines,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

const ships = ['budget-s1', 'budget-s2', 'budget-s3'];
const perShip = 40;
const maxInFlight = 2;

describe('node-wide in-flight budget', () => {
  let nats: NatsServerHandle;
  let root: string;
  let central: NodeHandle;

  before(async () => {
    nats = await startNatsServer();
    root = await makeTempDir('steward-budget-');
    central = await startNode({
      name: 'budget-central',
      folder: join(root, 'central'),
      brokerHostPort: nats.hostPort,
      args: ['--maxInFlight', String(maxInFlight), '--orderedWindow', '64'],
    });
  });

  after(cleanupHarness);

  it('keeps at most the budget plus one per subject in flight, then delivers every subject in order', { timeout: 120_000 }, async () => {
    // Receivers that take every message and never answer: what central has in flight stays on the wire.
    const silent: NatsConnection = await connect({ servers: nats.url });
    const seen = new Map<string, Set<string>>(ships.map((s) => [s, new Set<string>()]));
    for (const ship of ships) {
      silent.subscribe(`${ship}.>`, {
        callback: (_err, m) => {
          // A single message or a frame of several: every message carries its "id".
          for (const match of m.string().matchAll(/"id":"([0-9a-f-]{36})"/g)) seen.get(ship)!.add(match[1]!);
        },
      });
    }
    await silent.flush();
    const total = () => [...seen.values()].reduce((n, s) => n + s.size, 0);

    await central.inmsg(
      JSON.stringify(
        ships.flatMap((ship) =>
          range(1, perShip).map((n) => ({
            toNode: ship,
            method: 'TextLogging',
            commandOrEvent: 'EventACK',
            data: [`${n}\n`],
            timeout: 3,
            retries: -1,
          })),
        ),
      ) + '\n',
    );

    // Every subject gets its first message whatever the budget, and the count then stops growing.
    let last = -1;
    await waitFor(
      () => {
        const now = total();
        const settled = ships.every((s) => seen.get(s)!.size > 0) && now === last;
        last = now;
        return settled;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        message: () => `not every subject got its first message: ${JSON.stringify([...seen].map(([k, v]) => [k, v.size]))}`,
      },
    );
    // Without the budget each subject would have its first window (4) in flight: 12.
    const bound = maxInFlight + ships.length - 1;
    assert.ok(
      total() <= bound,
      `at most ${bound} distinct messages in flight, saw ${total()}: ${JSON.stringify([...seen].map(([k, v]) => [k, v.size]))}`,
    );
    await silent.close();

    // Real receivers now: every subject drains, in order, once, though only a few messages go at a time.
    const nodes = await Promise.all(ships.map((name) => startNode({ name, folder: join(root, name), brokerHostPort: nats.hostPort })));
    for (const node of nodes) {
      const file = node.dataFile('budget-central', `${node.name}.EventACK.TextLogging.log`);
      await waitFor(() => readLines(file).length >= perShip, {
        timeoutMs: 90_000,
        message: () => `${node.name} has ${readLines(file).length} of ${perShip} lines; central log:\n${tailLines(central.log(), 15)}`,
      });
      assertSequence(readLines(file), range(1, perShip), `${node.name} lines`);
    }
  });
});

// steward on more than one broker: a 3-server NATS cluster (routes on loopback) and an
// edge site behind a leaf node. Killing the server a node is connected to must not lose,
// repeat or reorder anything.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  cleanupHarness,
  freePort,
  makeTempDir,
  readLines,
  startNatsServer,
  startNode,
  tailLines,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';
import { sequenceProblems } from './chaos/chaosRound.js';

after(cleanupHarness);

function numbered(toNode: string, from: number, to: number): string {
  const msgs = [];
  for (let i = from; i <= to; i++)
    msgs.push({ toNode, method: 'TextLogging', commandOrEvent: 'EventACK', data: [`${i}\n`], timeout: 1, retries: -1 });
  return JSON.stringify(msgs) + '\n';
}

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

/** The server (of `servers`) that has a client connection named `name`. */
async function serverOf(servers: NatsServerHandle[], name: string): Promise<NatsServerHandle | undefined> {
  for (const s of servers) {
    if (!s.running) continue;
    try {
      const connz = await json<{ connections?: { name?: string }[] }>(`http://127.0.0.1:${s.monitorPort}/connz`);
      if (connz.connections?.some((c) => c.name === name)) return s;
    } catch {
      // a server being killed
    }
  }
  return undefined;
}

describe('a 3-server NATS cluster', () => {
  it('keeps delivering, once and in order, when the server a node uses is killed', { timeout: 180_000 }, async () => {
    const clusterPorts = [await freePort(), await freePort(), await freePort()];
    const servers: NatsServerHandle[] = [];
    for (let i = 0; i < 3; i++) {
      const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`);
      servers.push(
        await startNatsServer({
          args: ['--cluster_name', 'steward-test', '--cluster', `nats://127.0.0.1:${clusterPorts[i]}`, '--routes', routes.join(',')],
        }),
      );
    }
    await waitFor(
      async () => {
        for (const s of servers) {
          const r = await json<{ num_routes: number }>(`http://127.0.0.1:${s.monitorPort}/routez`);
          if (r.num_routes < 2) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, message: 'the cluster routes did not come up' },
    );
    const brokers = servers.map((s) => s.hostPort).join(',');
    const root = await makeTempDir('steward-cluster-');
    const central = await startNode({
      name: 'central',
      folder: join(root, 'central'),
      brokerHostPort: brokers,
      args: ['--centralErrorLogger'],
    });
    const ship1 = await startNode({ name: 'ship1', folder: join(root, 'ship1'), brokerHostPort: brokers });
    const file = ship1.dataFile('central', 'ship1.EventACK.TextLogging.log');

    // Half before the kill; pipelined delivery may get all of it across before the kill lands, so
    // the other half is handed to central afterwards and must travel through the surviving servers.
    await central.inmsg(numbered('ship1', 1, 75));
    await waitFor(() => readLines(file).length >= 40, {
      timeoutMs: 60_000,
      message: () => `fewer than 40 lines arrived:\n${tailLines(ship1.log(), 10)}`,
    });
    const victim = await waitFor(() => serverOf(servers, 'ship1'), { message: 'no server has ship1 connected' });
    await victim.kill9();
    const centralVictim = await serverOf(servers, 'central');
    await central.inmsg(numbered('ship1', 76, 150));
    const moved = async (): Promise<boolean> => {
      const now = await serverOf(servers, 'ship1');
      return now !== undefined && now !== victim && /reconnected to broker/.test(ship1.log());
    };
    await waitFor(async () => readLines(file).length >= 150 && (await moved()), {
      timeoutMs: 120_000,
      message: () =>
        `only ${readLines(file).length}/150 arrived after killing ${victim.hostPort};\nship1:\n${tailLines(ship1.log(), 10)}\ncentral:\n${tailLines(central.log(), 10)}`,
    });
    assert.deepEqual(sequenceProblems(readLines(file), 1, 150), { lost: [], duplicated: [], outOfOrder: [] });
    const now = await serverOf(servers, 'ship1');
    assert.ok(now && now !== victim, 'ship1 reconnected to another server of the cluster');
    assert.match(ship1.log(), /reconnected to broker/);
    void centralVictim;
  });
});

describe('an edge site behind a leaf node', () => {
  it('delivers through the leaf, and catches up after the leaf server is killed and restarted', { timeout: 180_000 }, async () => {
    const dir = await makeTempDir('steward-leaf-');
    const leafPort = await freePort();
    const hubConf = join(dir, 'hub.conf');
    await writeFile(hubConf, `leafnodes {\n  listen: 127.0.0.1:${leafPort}\n}\n`);
    const hub = await startNatsServer({ args: ['-c', hubConf] });
    const edgeConf = join(dir, 'edge.conf');
    await writeFile(edgeConf, `leafnodes {\n  remotes: [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ]\n}\n`);
    const edge = await startNatsServer({ args: ['-c', edgeConf] });
    await waitFor(async () => (await json<{ leafnodes?: number }>(`http://127.0.0.1:${hub.monitorPort}/leafz`)).leafnodes === 1, {
      timeoutMs: 30_000,
      message: 'the leaf node did not connect to the hub',
    });
    const central = await startNode({
      name: 'central',
      folder: join(dir, 'central'),
      brokerHostPort: hub.hostPort,
      args: ['--centralErrorLogger'],
    });
    const ship1: NodeHandle = await startNode({ name: 'ship1', folder: join(dir, 'ship1'), brokerHostPort: edge.hostPort });
    const file = ship1.dataFile('central', 'ship1.EventACK.TextLogging.log');

    await central.inmsg(numbered('ship1', 1, 20));
    await waitFor(() => readLines(file).length >= 20, {
      timeoutMs: 60_000,
      message: () => `the leaf did not carry 20 messages:\n${tailLines(central.log(), 10)}`,
    });

    // The edge's broker goes down (a ship's server reboots): messages queue at central.
    await edge.kill9();
    await central.inmsg(numbered('ship1', 21, 60));
    await waitFor(() => /resending \(attempt/.test(central.log()), {
      timeoutMs: 60_000,
      message: 'central never resent while the edge was down',
    });
    await edge.restart();
    await waitFor(() => readLines(file).length >= 60, {
      timeoutMs: 120_000,
      message: () =>
        `only ${readLines(file).length}/60 after the edge came back;\nship1:\n${tailLines(ship1.log(), 10)}\ncentral:\n${tailLines(central.log(), 10)}`,
    });
    assert.deepEqual(sequenceProblems(readLines(file), 1, 60), { lost: [], duplicated: [], outOfOrder: [] });
  });
});

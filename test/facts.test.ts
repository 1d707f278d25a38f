/**
 * Targeting by facts (issue 14 item 7), end to end with real nodes: ships
 * tell their facts (OS, architecture, kernel, version, and tags from
 * STEWARD_TAGS) in their SayHello; central keeps them; `steward nodes
 * --where` lists the matching nodes and `steward send --where` sends to the
 * alive ones, saying which matched before it sends.
 *
 * Attack: facts are a node's own claims, and a SayHello is taken from any
 * key (the operator approves keys later). A rogue client on the broker says
 * hello under a new name with the key it made up and the tag the operator
 * targets. Before the fix `send --where` sent the operator's command to it;
 * now a node whose key central has not approved is never matched (central
 * checks signatures), and the operator is told it was skipped.
 */
import assert from 'node:assert/strict';

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { publicKeyToText, signedJson } from '@steward/core';

import {
  cleanupHarness,
  makeTempDir,
  outboxRows,
  readFileOr,
  startNatsServer,
  startNode,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
  runSteward as steward,
  showRun as show,
} from './helpers/index.js';

after(cleanupHarness);

interface NodeLine {
  name: string;
  alive: boolean;
  facts?: Record<string, string>;
  keyApproved?: boolean;
}

describe('targeting by facts', { timeout: 300_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `fc${tag}`;
  const northName = `fn${tag}`;
  const southName = `fs${tag}`;
  const oldName = `fo${tag}`;
  const rogueName = `fr${tag}`;
  let server: NatsServerHandle;
  let central: NodeHandle;
  let north: NodeHandle;
  let old: NodeHandle;
  let dir: string;
  let runsFile: string;
  // Central checks signatures (hellos and ACKs): it is the one that decides which keys count. The
  // ships take central's commands without checks, so no ACL or key push is needed to run them.
  const shipArgs = [
    '--centralNodeName',
    centralName,
    '--sayHelloInterval',
    '1',
    '--enableSignatureCheck',
    'false',
    '--enableAclCheck',
    'false',
  ];

  const nodes = async (...extra: string[]): Promise<NodeLine[]> => {
    const r = await steward(['nodes', '--json', ...extra], central.folder);
    assert.equal(r.code, 0, show(r));
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as NodeLine);
  };
  /** Approves `name`'s pending key at central by the fingerprint `steward keys list` shows for it. */
  const approve = async (name: string) => {
    const fingerprint = await waitFor(
      async () =>
        new RegExp(`^${name}\\s+pending\\s+(SHA256:[0-9a-f]+)`, 'm').exec(
          (await steward(['keys', 'list', '--nodeFolder', central.folder], dir)).stdout,
        )?.[1],
      { timeoutMs: 60_000, intervalMs: 500, message: `${name}'s key pending at central` },
    );
    const r = await steward(['keys', 'allow', name, fingerprint, '--nodeFolder', central.folder], dir);
    assert.equal(r.code, 0, show(r));
  };
  const ranOn = () => readFileOr(runsFile, '').split('\n').filter(Boolean);

  before(async () => {
    server = await startNatsServer();
    dir = await makeTempDir('steward-facts-');
    runsFile = join(dir, 'runs.txt');
    central = await startNode({
      name: centralName,
      folder: join(dir, centralName),
      brokerHostPort: server.hostPort,
      args: ['--centralNodeName', centralName, '--sayHelloInterval', '1', '--enableSignatureCheck', 'true', '--enableAclCheck', 'false'],
    });
    const ship = (name: string, env: Record<string, string> = {}) =>
      startNode({ name, folder: join(dir, name), brokerHostPort: server.hostPort, args: shipArgs, env });
    // The south ship has its tags in its steward.json, which `steward start` reads as its config file too.
    await mkdir(join(dir, southName), { recursive: true });
    writeFileSync(join(dir, southName, 'steward.json'), JSON.stringify({ tags: { site: 'south' } }));
    [north, , old] = await Promise.all([
      ship(northName, { STEWARD_TAGS: 'site=north,role=db' }),
      ship(southName),
      ship(oldName, { STEWARD_TAGS: 'site=north' }),
    ]);
    for (const n of [northName, southName, oldName]) await approve(n);
  });

  it("central keeps each ship's facts, and steward nodes --where lists only the matching ones", async () => {
    const all = await waitFor(
      async () => {
        const list = await nodes();
        return [northName, southName, oldName].every((n) => list.find((x) => x.name === n)?.keyApproved === true) && list;
      },
      { timeoutMs: 60_000, intervalMs: 500, message: 'the ships said hello with approved keys' },
    );
    assert.equal(all.find((x) => x.name === southName)?.facts?.['tag:site'], 'south', 'tags from steward.json');
    const n = all.find((x) => x.name === northName)!;
    assert.equal(n.facts?.['tag:site'], 'north');
    assert.equal(n.facts?.['tag:role'], 'db');
    assert.equal(n.facts?.arch, arch());
    assert.equal(n.facts?.os, platform());
    assert.equal(n.facts?.version, '0.1.0');
    assert.ok(n.facts?.kernel, 'kernel release');

    const onlyNorth = await steward(['nodes', '--where', 'tag:site=north', '--where', 'tag:role=db'], central.folder);
    assert.equal(onlyNorth.code, 0, show(onlyNorth));
    assert.match(onlyNorth.stdout, new RegExp(`^${northName} +alive .*tag:role=db tag:site=north$`, 'm'), show(onlyNorth));
    assert.doesNotMatch(onlyNorth.stdout, new RegExp(`${southName}|${oldName}`), show(onlyNorth));
    assert.match(onlyNorth.stdout, /1 node\(s\) matching tag:site=north and tag:role=db: 1 alive/);
    const byArch = (await nodes('--where', `arch=${arch()}`, '--where', 'tag:site=*')).map((x) => x.name).sort();
    assert.deepEqual(byArch, [northName, oldName, southName].sort());
    const none = await steward(['nodes', '--where', 'site=north'], central.folder);
    assert.equal(none.code, 2, 'a fact name that is not one is a usage error');
    assert.match(none.stderr, /no fact "site".*tag:site=north/);
  });

  it('steward send --where runs only on the alive matching node, says which matched first, and skips a stale one', async () => {
    await old.stop();
    // Stale after 3 s without a hello (north and south say hello every second).
    await waitFor(async () => (await nodes('--staleAfter', '3')).find((x) => x.name === oldName)?.alive === false, {
      timeoutMs: 60_000,
      intervalMs: 500,
      message: `${oldName} turns stale`,
    });
    const r = await steward(
      ['send', '--where', 'tag:site=north', '--staleAfter', '3', '--', 'bash', '-c', `pwd >> ${runsFile}`],
      central.folder,
    );
    assert.equal(r.code, 0, show(r));
    const matchLine = `steward: --where tag:site=north matches 1 node(s): ${northName}\n`;
    assert.ok(r.stderr.includes(matchLine), show(r));
    assert.match(r.stderr, new RegExp(`skipping stale node ${oldName} \\(last SayHello \\d+ s ago\\)`), show(r));
    // Said before anything was sent: the match line comes before the fan-out summary.
    assert.ok(r.stderr.indexOf(matchLine) < r.stderr.indexOf('1 ok') || !r.stderr.includes('1 ok'), show(r));
    assert.deepEqual(ranOn(), [north.folder], 'ran on the north ship only');
    const sentTo = outboxRows<{ toNode: string; method: string }, unknown>(central)
      .filter((x) => x.message.method === 'CLICommand')
      .map((x) => x.message.toNode);
    assert.deepEqual(sentTo, [northName]);
  });

  it('attack: a rogue client says hello with a made-up key and the targeted tag; send --where skips it and sends it nothing', async () => {
    const nc: NatsConnection = await connect({ servers: server.url });
    try {
      const received: string[] = [];
      nc.subscribe(`${rogueName}.>`, {
        callback: (_e, m) => {
          received.push(m.subject);
        },
      });
      await nc.flush();
      const rogue = generateKeyPairSync('ed25519');
      const hello = () =>
        signedJson(
          {
            id: randomUUID(),
            fromNode: rogueName,
            toNode: centralName,
            method: 'SayHello',
            commandOrEvent: 'EventNACK',
            data: [
              'steward 0.1.0',
              `publicKey=${publicKeyToText(rogue.publicKey)}`,
              'os=linux',
              `arch=${arch()}`,
              'tag:site=north',
              'tag:role=db',
            ],
            createdAt: Date.now(),
            timeout: 10,
            retries: 0,
            methodTimeout: 10,
            expiresAt: Date.now() + 60_000,
          },
          rogue.privateKey,
        );
      // Central took the hello: the rogue is in the registry, claiming the tags (the positive sign).
      await waitFor(
        async () => {
          nc.publish(`${centralName}.EventNACK.SayHello`, hello());
          return (await nodes()).find((x) => x.name === rogueName && x.alive && x.facts?.['tag:site'] === 'north');
        },
        { timeoutMs: 60_000, intervalMs: 500, message: 'central recorded the rogue hello' },
      );
      const listed = await steward(['nodes', '--where', 'tag:site=north'], central.folder);
      assert.match(listed.stdout, new RegExp(`^${rogueName} +alive, key not approved`, 'm'), show(listed));

      const before = ranOn().length;
      const r = await steward(
        ['send', '--where', 'tag:site=north', '--where', 'tag:role=db', '--', 'bash', '-c', `pwd >> ${runsFile}`],
        central.folder,
      );
      assert.equal(r.code, 0, show(r));
      assert.match(r.stderr, new RegExp(`skipping node ${rogueName}: its key is not approved at central`), show(r));
      assert.ok(r.stderr.includes(`matches 1 node(s): ${northName}\n`), show(r));
      assert.deepEqual(ranOn().slice(before), [north.folder]);
      // Targets are chosen before anything is accepted: central never queued a message to the rogue,
      // and the rogue's subscription saw nothing (the send to the north ship has finished meanwhile).
      assert.deepEqual(
        outboxRows<{ toNode: string }, unknown>(central).filter((x) => x.message.toNode === rogueName),
        [],
      );
      await nc.flush();
      // (Central pushes its signed, public key set to every node in the registry: that is no command.)
      assert.deepEqual(
        received.filter((subject) => !subject.endsWith('.KeysUpdate')),
        [],
      );
      assert.ok(!readFileSync(runsFile, 'utf8').includes(rogueName));

      // A glob over names is no way around it either: f[nr]<tag> names the north ship and the rogue.
      const globbed = await steward(['send', '--toNodes', `f[nr]${tag}`, '--', 'bash', '-c', `pwd >> ${runsFile}`], central.folder);
      assert.equal(globbed.code, 0, show(globbed));
      assert.match(globbed.stderr, new RegExp(`skipping node ${rogueName}: its key is not approved at central`), show(globbed));
      assert.deepEqual(
        outboxRows<{ toNode: string }, unknown>(central).filter((x) => x.message.toNode === rogueName),
        [],
      );
      assert.ok(!readFileSync(runsFile, 'utf8').includes(rogueName));
    } finally {
      await nc.close();
    }
  });
});

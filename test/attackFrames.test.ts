/**
 * Attacks on frames (issue 15: many messages of one subject in one signed
 * NATS message, answered by one ACK frame; see packages/core/src/frame.ts),
 * against real nodes in secure mode: central, ship1 and ship2, every key
 * approved, an ACL that lets central command the ships and gives the ships
 * no rights. ship2 is the broken-into ship: the attacker holds its approved
 * private key and a raw client on the broker.
 *
 * A frame is proven once, by its signature against its signer's approved
 * key; each message in it must name that signer. An ACK frame counts only
 * when it is signed by the node the messages went to.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  ACK_FRAME_TAG,
  encodeFrame,
  isFrame,
  MESSAGE_FRAME_TAG,
  parseAckFrame,
  parseMessageFrame,
  privateKeyFromPem,
  splitFrame,
  type FrameTag,
} from '@steward/core';
import type { KeyObject } from 'node:crypto';

import {
  folderSocketEnv,
  cleanupHarness,
  makeTempDir,
  startNatsServer,
  startNode,
  stewardBin,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';
import { adoptedKeySet, approveKey, keysOf } from './helpers/keys.js';

after(cleanupHarness);

interface Ack {
  id: string;
  status: string;
  error?: string;
}

const readOr = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

describe('attacks on frames', { timeout: 400_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `fc${tag}`;
  const ship1Name = `fs1${tag}`;
  const ship2Name = `fs2${tag}`;
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship1: NodeHandle;
  let ship2: NodeHandle;
  let nc: NatsConnection;
  let dir: string;
  const checks = ['--enableSignatureCheck', '--enableAclCheck'];
  const common = ['--centralNodeName', centralName, ...checks, '--sayHelloInterval', '1', '--keysPushInterval', '1'];

  const keys = (...args: string[]) => keysOf(central.folder, ...args);
  const approve = (node: string) => approveKey(central.folder, node);
  const adopted = adoptedKeySet;
  const ship2Key = (): KeyObject => privateKeyFromPem(readFileSync(join(ship2.folder, 'state', 'keys', 'node.key'), 'utf8'));

  /** A message as it travels in a frame (no signature, no expiresAt: the frame's). */
  const message = (fields: Record<string, unknown>): Record<string, unknown> => ({
    id: randomUUID(),
    createdAt: Date.now(),
    timeout: 10,
    retries: 0,
    methodTimeout: 10,
    ...fields,
  });
  /** A frame of `messages` that says it comes from `fromNode`, signed with `key` (none: unsigned). */
  const frame = (tagOf: FrameTag, json: Record<string, unknown>, key: KeyObject | undefined): Buffer =>
    encodeFrame(tagOf, JSON.stringify(json), key);
  const messageFrame = (fromNode: string, toNode: string, messages: Record<string, unknown>[], key: KeyObject | undefined): Buffer =>
    frame(MESSAGE_FRAME_TAG, { fromNode, toNode, expiresAt: Date.now() + 60_000, messages }, key);
  const request = async (subject: string, body: Uint8Array): Promise<Ack> =>
    JSON.parse((await nc.request(subject, body, { timeout: 30_000 })).string()) as Ack;

  before(async () => {
    server = await startNatsServer();
    dir = await makeTempDir('steward-attack-frames-');
    await mkdir(join(dir, centralName, 'state'), { recursive: true });
    writeFileSync(join(dir, 'acl.json'), JSON.stringify({ rules: [{ to: '*', from: centralName, method: '*' }] }));
    execFileSync(process.execPath, [stewardBin, 'acl', 'set', join(dir, 'acl.json'), '--nodeFolder', join(dir, centralName)]);
    central = await startNode({
      name: centralName,
      folder: join(dir, centralName),
      brokerHostPort: server.hostPort,
      args: common,
      env: folderSocketEnv,
    });
    const startShip = (name: string) =>
      startNode({ name, folder: join(dir, name), brokerHostPort: server.hostPort, args: common, env: folderSocketEnv });
    [ship1, ship2] = await Promise.all([startShip(ship1Name), startShip(ship2Name)]);
    for (const ship of [ship1Name, ship2Name]) {
      await waitFor(
        () =>
          keys('list')
            .split('\n')
            .some((l) => l.includes(ship) && /pending/.test(l)),
        { timeoutMs: 60_000, message: `${ship}'s key pending at central` },
      );
      approve(ship);
    }
    await waitFor(() => [ship1, ship2].every((s) => adopted(s).includes(ship1Name) && adopted(s).includes(ship2Name)), {
      timeoutMs: 60_000,
      message: 'both ships adopt the key set with both keys',
    });
    nc = await connect({ servers: server.url });
  });

  after(async () => {
    await nc?.close();
  });

  it("a frame signed with ship2's approved key cannot carry a message that names central as its sender", async () => {
    const file = join(dir, `pwned-by-frame-${tag}`);
    const body = messageFrame(
      ship2Name,
      ship1Name,
      [message({ fromNode: centralName, toNode: ship1Name, method: 'CLICommand', commandOrEvent: 'CommandACK', data: ['touch', file] })],
      ship2Key(),
    );
    const ack = await request(`${ship1Name}.CommandACK.CLICommand`, body);
    assert.equal(ack.status, 'rejected', JSON.stringify(ack));
    assert.match(ack.error ?? '', new RegExp(`names sender "${centralName}" in a frame signed by "${ship2Name}"`));
    // The same message naming ship2 itself is judged by the ACL, which gives ship2 nothing.
    const own = await request(
      `${ship1Name}.CommandACK.CLICommand`,
      messageFrame(
        ship2Name,
        ship1Name,
        [message({ fromNode: ship2Name, toNode: ship1Name, method: 'CLICommand', commandOrEvent: 'CommandACK', data: ['touch', file] })],
        ship2Key(),
      ),
    );
    assert.equal(own.status, 'rejected', JSON.stringify(own));
    await waitFor(() => /names sender/.test(ship1.log()), { timeoutMs: 30_000, message: 'the refusal logged at ship1' });
    assert.equal(existsSync(file), false, 'the command never ran');
  });

  it('a frame resent after its messages were taken is answered from the journal: each runs once, a new one with them runs', async () => {
    const centralKey = privateKeyFromPem(readFileSync(join(central.folder, 'state', 'keys', 'node.key'), 'utf8'));
    const subject = `${ship1Name}.EventACK.TextLogging`;
    const log = join(ship1.folder, 'data', centralName, `${subject}.log`);
    const before = readOr(log);
    const line = (n: number) => `resent-${tag}-${n}\n`;
    const [m1, m2, m3] = [1, 2, 3].map((n) =>
      message({ fromNode: centralName, toNode: ship1Name, method: 'TextLogging', commandOrEvent: 'EventACK', data: [line(n)] }),
    );
    m2!.follows = m1!.id;
    m3!.follows = m2!.id;
    /** Sends a frame as central's publisher does and returns the answers of its ACK frames (one or more), in order. */
    const send = async (messages: Record<string, unknown>[]): Promise<(Ack & { duplicate?: boolean })[]> => {
      const replySubject = `_INBOX.resent${tag}.frame.${randomUUID()}`;
      const got: (Ack & { duplicate?: boolean })[] = [];
      const sub = nc.subscribe(replySubject, {
        callback: (_err, m) => {
          got.push(...(parseAckFrame(splitFrame(m.data, ACK_FRAME_TAG)).acks as unknown as Ack[]));
        },
      });
      try {
        nc.publish(subject, messageFrame(centralName, ship1Name, messages, centralKey), { reply: replySubject });
        await waitFor(() => got.length >= messages.length, { timeoutMs: 30_000, message: () => `answers: ${JSON.stringify(got)}` });
      } finally {
        sub.unsubscribe();
      }
      return got;
    };
    const first = await send([m1!, m2!]);
    assert.deepEqual(
      first.map((a) => [a.id, a.status, a.duplicate ?? false]),
      [
        [m1!.id, 'received', false],
        [m2!.id, 'received', false],
      ],
    );
    await waitFor(() => readOr(log) === before + line(1) + line(2), { timeoutMs: 30_000, message: () => `${log}: ${readOr(log)}` });
    // The same two again, as after the sender lost their ACKs, with a new one behind them.
    const again = await send([m1!, m2!, m3!]);
    assert.deepEqual(
      again.map((a) => [a.id, a.status, a.duplicate ?? false]),
      [
        [m1!.id, 'received', true],
        [m2!.id, 'received', true],
        [m3!.id, 'received', false],
      ],
    );
    await waitFor(() => readOr(log) === before + line(1) + line(2) + line(3), {
      timeoutMs: 30_000,
      message: () => `${log}: ${readOr(log)}`,
    });
  });

  it('a frame that claims to come from central, unsigned or signed with another key, is refused whole', async () => {
    const file = join(dir, `pwned-by-forged-frame-${tag}`);
    // CLICommandRequest, not the CLICommand of the test above: refusals are reported once per sender, method and
    // code in a 10 s window (later ones summed), and this test reads the frame's own report.
    const messages = [1, 2].map((n) =>
      message({
        fromNode: centralName,
        toNode: ship1Name,
        method: 'CLICommandRequest',
        commandOrEvent: 'EventACK',
        data: ['bash', '-c', `echo ${n} >> ${file}`],
      }),
    );
    const stranger = generateKeyPairSync('ed25519').privateKey;
    for (const [key, code] of [
      [undefined, 'unsigned'],
      [stranger, 'badSignature'],
    ] as const) {
      // Answered as a sender of frames is: every refusal in one ACK frame, on the frame's reply subject.
      const replySubject = `_INBOX.frames${tag}${code}.frame.${messages[0]!.id as string}`;
      const sub = nc.subscribe(replySubject, { max: 1 });
      const answers = (async () => {
        const got: Ack[] = [];
        for await (const m of sub) got.push(...(parseAckFrame(splitFrame(m.data, ACK_FRAME_TAG)).acks as unknown as Ack[]));
        return got;
      })();
      nc.publish(`${ship1Name}.EventACK.CLICommandRequest`, messageFrame(centralName, ship1Name, messages, key), { reply: replySubject });
      const got = await answers;
      assert.deepEqual(
        got.map((a) => a.status),
        ['rejected', 'rejected'],
        `both messages of the ${code} frame answered rejected`,
      );
      await waitFor(() => new RegExp(`refused a frame of 2 message\\(s\\) from ${centralName}.*${code}`).test(ship1.log()), {
        timeoutMs: 30_000,
        message: () =>
          `the ${code} frame reported at ship1; its log ends:\n${ship1
            .log()
            .split('\n')
            .filter((l) => /refused/.test(l))
            .join('\n')}`,
      });
    }
    assert.equal(existsSync(file), false, 'nothing of either frame ran');

    // No amplification: a forged frame of many messages, answered anywhere but on a frame's reply
    // subject, gets one answer, not one per message. A payload that is not JSON, sent after it on
    // the same connection, is answered after it: the answers before that one are the frame's.
    const many = Array.from({ length: 50 }, (_, n) =>
      message({
        fromNode: centralName,
        toNode: ship1Name,
        method: 'CLICommandRequest',
        commandOrEvent: 'EventACK',
        data: ['true', String(n)],
      }),
    );
    const plain = `_INBOX.frames${tag}plain`;
    const sub = nc.subscribe(plain, { timeout: 60_000 });
    const answers = (async () => {
      const got: Ack[] = [];
      for await (const m of sub) {
        const ack = JSON.parse(m.string()) as Ack;
        if (ack.id === '') break;
        got.push(ack);
      }
      return got;
    })();
    nc.publish(`${ship1Name}.EventACK.CLICommandRequest`, messageFrame(centralName, ship1Name, many, stranger), { reply: plain });
    nc.publish(`${ship1Name}.EventACK.CLICommandRequest`, 'not json', { reply: plain });
    const got = await answers;
    sub.unsubscribe();
    assert.deepEqual(
      got.map((a) => a.status),
      ['rejected'],
      'one answer for the frame of 50',
    );
  });

  it("a forged ACK frame is ignored, and ship1's own ACK frame still counts", async () => {
    const subject = `${ship1Name}.CommandACK.CLICommand`;
    const rogue = await connect({ servers: server.url });
    let forgedFrames = 0;
    // Any client on the broker answers ship1's frames at once, unsigned and signed with ship2's approved key.
    rogue.subscribe(subject, {
      callback: (_e, m) => {
        if (!isFrame(m.data, MESSAGE_FRAME_TAG) || !m.reply) return;
        const json = parseMessageFrame(splitFrame(m.data, MESSAGE_FRAME_TAG));
        const acks = json.messages.map((x) => ({
          id: x.id,
          node: ship1Name,
          status: 'succeeded',
          output: 'forged-frame-output\n',
          exitCode: 0,
        }));
        m.respond(frame(ACK_FRAME_TAG, { node: ship1Name, acks }, undefined));
        m.respond(frame(ACK_FRAME_TAG, { node: ship1Name, acks }, ship2Key()));
        forgedFrames += 2;
      },
    });
    await rogue.flush();
    try {
      // Three commands to ship1 in one file, sent in one turn: the first alone, the other two in one frame.
      const entry = (n: number) => ({
        toNode: ship1Name,
        method: 'CLICommand',
        data: ['bash', '-c', `sleep 2; echo real-frame-output-${n}`],
        methodTimeout: 30,
      });
      await central.inmsg(`${JSON.stringify([entry(1), entry(2), entry(3)])}\n`);
      const outputLog = central.dataFile(ship1Name, `${subject}.log`);
      await waitFor(() => [1, 2, 3].every((n) => readOr(outputLog).includes(`real-frame-output-${n}`)), {
        timeoutMs: 90_000,
        message: "ship1's real output at central",
      });
      assert.ok(forgedFrames >= 2, 'the rogue saw a frame and answered it');
      assert.doesNotMatch(readOr(outputLog), /forged-frame-output/);
      assert.match(central.log(), new RegExp(`ignored an ACK that is not ${ship1Name}'s own: unsigned`));
      assert.match(central.log(), new RegExp(`ignored an ACK that is not ${ship1Name}'s own: badSignature`));
    } finally {
      await rogue.close();
    }
  });
});

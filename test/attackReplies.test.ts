/**
 * Attacks on replies and ACKs (issue 12, holes 1, 4 and 6), against real
 * nodes in secure mode: central, ship1 and ship2, every key approved, an
 * ACL that lets central command the ships and gives the ships no rights.
 * ship2 is the broken-into ship: the attacker holds its approved private key
 * (read from its key file) and a raw client on the broker.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { privateKeyFromPem, signedJson } from '@steward/core';

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
  runSteward as steward,
} from './helpers/index.js';
import { adoptedKeySet, approveKey, keysOf } from './helpers/keys.js';

after(cleanupHarness);

interface Ack {
  id: string;
  status: string;
  error?: string;
}

describe('attacks on replies and ACKs', { timeout: 400_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `rc${tag}`;
  const ship1Name = `rs1${tag}`;
  const ship2Name = `rs2${tag}`;
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship1: NodeHandle;
  let ship2: NodeHandle;
  let nc: NatsConnection;
  let dir: string;
  const captured: Msg[] = [];
  const checks = ['--enableSignatureCheck', '--enableAclCheck'];
  const common = ['--centralNodeName', centralName, ...checks, '--sayHelloInterval', '1', '--keysPushInterval', '1'];

  const keys = (...args: string[]) => keysOf(central.folder, ...args);
  const approve = (node: string) => approveKey(central.folder, node);
  const adopted = adoptedKeySet;
  /** A message signed with ship2's own approved key: what a broken-into ship2 can make. */
  const fromShip2 = (fields: Record<string, unknown>): string =>
    signedJson(
      {
        id: randomUUID(),
        fromNode: ship2Name,
        commandOrEvent: 'EventACK',
        createdAt: Date.now(),
        timeout: 10,
        retries: 0,
        methodTimeout: 10,
        expiresAt: Date.now() + 60_000,
        ...fields,
      },
      privateKeyFromPem(readFileSync(join(ship2.folder, 'state', 'keys', 'node.key'), 'utf8')),
    );
  const request = async (subject: string, body: string): Promise<Ack> =>
    JSON.parse((await nc.request(subject, body, { timeout: 30_000 })).string()) as Ack;

  before(async () => {
    server = await startNatsServer();
    dir = await makeTempDir('steward-attack-replies-');
    await mkdir(join(dir, centralName, 'state'), { recursive: true });
    // Central commands everything; ship2 may only ask central for an echo (for the relay attack).
    writeFileSync(
      join(dir, 'acl.json'),
      JSON.stringify({
        rules: [
          { to: '*', from: centralName, method: '*' },
          { to: centralName, from: ship2Name, method: 'ECHORequest' },
        ],
      }),
    );
    execFileSync(process.execPath, [stewardBin, 'acl', 'set', join(dir, 'acl.json'), '--nodeFolder', join(dir, centralName)]);
    central = await startNode({
      name: centralName,
      folder: join(dir, centralName),
      brokerHostPort: server.hostPort,
      args: [...common, '--centralErrorLogger'],
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
        {
          timeoutMs: 60_000,
          message: `${ship}'s key pending at central`,
        },
      );
      approve(ship);
    }
    await waitFor(() => [ship1, ship2].every((s) => adopted(s).includes(ship1Name) && adopted(s).includes(ship2Name)), {
      timeoutMs: 60_000,
      message: 'both ships adopt the key set with both keys',
    });
    nc = await connect({ servers: server.url });
    nc.subscribe('>', { callback: (_e, m) => void captured.push(m) });
    await nc.flush();
  });

  after(async () => {
    await nc?.close();
  });

  it('hole 1: a reply naming replyMethod CLICommand does not make central run anything', async () => {
    const pwned = join(dir, 'pwned-by-reply');
    for (const previousMessageId of [undefined, randomUUID()]) {
      const ack = await request(
        `${centralName}.EventACK.CLICommandReply`,
        fromShip2({
          toNode: centralName,
          method: 'CLICommandReply',
          data: ['output'],
          replyMethod: 'CLICommand',
          replyMethodArgs: ['bash', '-c', `id > ${pwned}`],
          replyToNode: centralName,
          ...(previousMessageId ? { previousMessageId } : {}),
        }),
      );
      // Refused before it was journaled: no reply of it can ever be sent.
      assert.equal(ack.status, 'rejected', JSON.stringify(ack));
      assert.match(ack.error ?? '', /only taken as the reply|never sent/);
    }
    assert.match(central.log(), new RegExp(`refused CLICommandReply from ${ship2Name} .*unsolicited`));
    assert.equal(existsSync(pwned), false);
  });

  it("hole 1: ship2 cannot answer central's request to ship1, nor answer it twice as ship1", async () => {
    const r = await steward(
      ['send', '--no-wait', '--toNode', ship1Name, '--method', 'CLICommandRequest', '--', 'bash', '-c', 'sleep 4; echo real-$((40+2))'],
      central.folder,
    );
    assert.equal(r.code, 0, r.stderr);
    const id = /[0-9a-f-]{36}/.exec(r.stdout)?.[0];
    assert.ok(id, r.stdout);
    // While ship1 still runs the command, ship2 answers first, in ship1's place.
    const forged = await request(
      `${centralName}.EventACK.CLICommandReply`,
      fromShip2({ toNode: centralName, method: 'CLICommandReply', data: ['forged-output'], previousMessageId: id }),
    );
    assert.equal(forged.status, 'rejected');
    assert.match(forged.error ?? '', new RegExp(`went to "${ship1Name}", not to "${ship2Name}"`));
    // The real reply is taken, and `steward status` shows it (hole 6: the same check as the live path).
    // (The output, "real-42", is not the command's text, which status shows too.)
    await waitFor(async () => (await steward(['status', id], central.folder)).stdout.includes('real-42'), {
      timeoutMs: 90_000,
      message: 'status shows the real reply',
    });
    const status = await steward(['status', id], central.folder);
    assert.doesNotMatch(status.stdout, /forged-output/);
    // A second answer, even one signed by ship1 itself, is refused: the request has its reply.
    const replyKey = privateKeyFromPem(readFileSync(join(ship1.folder, 'state', 'keys', 'node.key'), 'utf8'));
    const second = await request(
      `${centralName}.EventACK.CLICommandReply`,
      signedJson(
        {
          id: randomUUID(),
          fromNode: ship1Name,
          toNode: centralName,
          method: 'CLICommandReply',
          commandOrEvent: 'EventACK',
          data: ['second-answer'],
          previousMessageId: id,
          createdAt: Date.now(),
          timeout: 10,
          retries: 0,
          methodTimeout: 10,
          expiresAt: Date.now() + 60_000,
        },
        replyKey,
      ),
    );
    assert.equal(second.status, 'rejected', JSON.stringify(second));
    assert.match(second.error ?? '', /answered already/);
  });

  it('hole 1: a request cannot make central send a command to another ship on its behalf', async () => {
    const pwned = join(dir, 'pwned-by-relay');
    const ack = await request(
      `${centralName}.EventACK.ECHORequest`,
      fromShip2({
        toNode: centralName,
        method: 'ECHORequest',
        data: ['hi'],
        replyToNode: ship1Name,
        replyMethod: 'REQCliCommand',
        replyMethodArgs: ['bash', '-c', `touch ${pwned}`],
      }),
    );
    assert.equal(ack.status, 'received', 'the ACL lets ship2 ask central for an echo');
    await waitFor(() => new RegExp(`no REQCliCommand reply to ${ship1Name} for ECHORequest from ${ship2Name}`).test(central.log()), {
      timeoutMs: 60_000,
      message: `central refuses to relay; central log:\n${central.log().slice(-3000)}`,
    });
    assert.equal(
      captured.some((m) => m.subject === `${ship1Name}.EventACK.REQCliCommand`),
      false,
      'central sent ship1 no command',
    );
    assert.equal(existsSync(pwned), false);
  });

  it('hole 4: a forged ACK is ignored and the real one still counts', async () => {
    const subject = `${ship1Name}.CommandACK.CLICommand`;
    // Any client on the broker answers ship1's commands at once, with invented output.
    const rogue = await connect({ servers: server.url });
    let forgedSent = 0;
    rogue.subscribe(subject, {
      callback: (_e, m) => {
        const { id } = JSON.parse(m.string()) as { id: string };
        m.respond(JSON.stringify({ id, node: ship1Name, status: 'succeeded', output: 'forged-ack-output\n', exitCode: 0 }));
        // And one signed with ship2's approved key, claiming to be ship1.
        m.respond(
          signedJson(
            { id, node: ship1Name, status: 'succeeded', output: 'forged-ack-output\n', exitCode: 0 },
            privateKeyFromPem(readFileSync(join(ship2.folder, 'state', 'keys', 'node.key'), 'utf8')),
          ),
        );
        forgedSent += 2;
      },
    });
    await rogue.flush();
    try {
      const r = await steward(['send', '--toNode', ship1Name, '--', 'bash', '-c', 'sleep 2; echo real-ack-output'], central.folder);
      assert.ok(forgedSent >= 2, 'the rogue answered');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /real-ack-output/);
      assert.doesNotMatch(r.stdout, /forged-ack-output/);
      assert.match(central.log(), new RegExp(`ignored an ACK that is not ${ship1Name}'s own: unsigned`));
      assert.match(central.log(), new RegExp(`ignored an ACK that is not ${ship1Name}'s own: badSignature`));
    } finally {
      await rogue.close();
    }
  });
});

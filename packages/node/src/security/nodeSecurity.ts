/**
 * The security of one node: its key pair, the keys it trusts, signing what
 * it sends, checking what it receives, and (on central) the key register and
 * the pushes of the approved key set to every node.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  ackSignatureValid,
  frameSignatureValid,
  keyFingerprint,
  methodInfo,
  publicKeyFromText,
  signAck,
  signedJson,
  verifyMessage,
  type RawFrame,
  type WireAck,
  type WireMessage,
} from '@steward/core';
import { statSync } from 'node:fs';
import type { NodeConfig } from '../node/config.js';
import type { Logger } from '../observability/logger.js';
import { KeySetError } from './errors.js';
import { aclInForce, aclPath, aclRefusal, readAcl, type Acl } from './acl.js';
import { approvedKeys, decideKey, KeyStatus, readRegistry, recordHelloKey, registryPath } from './keyRegistry.js';
import { loadOrCreateNodeKeys, type NodeKeys } from './keyStore.js';
import { KEYS_UPDATE, signKeySet, TrustStore } from './trustStore.js';

/** The prefix of the SayHello data element that carries the sender's public key. */
export const HELLO_KEY_PREFIX = 'publicKey=';

/** Why a received message was refused: a short code for counting, and a sentence. */
export interface Refusal {
  code: 'expired' | 'unsigned' | 'untrusted' | 'badSignature' | 'acl' | 'unsolicited';
  reason: string;
}

/** Why an ACK was ignored: a short code for counting, and a sentence. */
export interface AckRefusal {
  code: 'unsigned' | 'untrusted' | 'badSignature' | 'wrongNode';
  reason: string;
}

/** @internal */
export class NodeSecurity {
  readonly keys: NodeKeys;
  readonly trust: TrustStore;
  /** Refusals by code, since start. */
  readonly refusals = new Map<Refusal['code'], number>();
  private readonly isCentral: boolean;
  private sub?: Subscription;
  private timers: NodeJS.Timeout[] = [];
  private lastRegistryMtime = -1;
  private lastPushedVersion = -1;

  constructor(
    private readonly c: NodeConfig,
    private readonly log: Logger,
  ) {
    this.keys = loadOrCreateNodeKeys(c.nodeFolder);
    this.isCentral = c.node === c.centralNodeName;
    this.trust = new TrustStore(c.nodeFolder, c.centralNodeName, this.isCentral ? this.keys.publicKeyText : c.centralPublicKey);
    if (this.isCentral) {
      // Central trusts itself, and its own approved set is authoritative: adopt it now, before any message arrives.
      const own = readRegistry(c.nodeFolder).nodes[c.node];
      if (own?.publicKey !== this.keys.publicKeyText || own.status !== KeyStatus.Allowed)
        decideKey(c.nodeFolder, c.node, KeyStatus.Allowed, this.keys.publicKeyText);
      this.applyOwnSet();
    }
  }

  /**
   * The ACL in force: central's, or, until the operator sets one, the
   * default policy: central may call every method on every node, the others
   * only what is always allowed (hellos and error reports to central,
   * replies to their own requests). Secure by default, and the seed's
   * messages, sent from central, still run.
   */
  policy(): Acl {
    return aclInForce(this.trust.acl);
  }

  /** The data a SayHello carries so central learns this node's key. */
  helloData(): string {
    return `${HELLO_KEY_PREFIX}${this.keys.publicKeyText}`;
  }

  /**
   * The payload to publish for `m`: stamped with `expiresAt` (now + max age)
   * and signed. Done at every send, so a message that waits long in the
   * outbox (retries -1) still arrives valid, while a captured copy expires.
   */
  payload(m: WireMessage): Uint8Array {
    const obj = { ...m, expiresAt: Date.now() + this.c.messageMaxAge * 1000 } as Record<string, unknown>;
    return Buffer.from(signedJson(obj, this.keys.privateKey), 'utf8');
  }

  /** The `expiresAt` a message (or a frame of them) sent now carries: now + the maximum message age. */
  expiresAtNow(): number {
    return Date.now() + this.c.messageMaxAge * 1000;
  }

  /**
   * With signature checks on: why a frame of messages signed, it says, by
   * `fromNode` must not be taken (no approved key, or a signature that does
   * not verify), or undefined when it may. Every message in it must then
   * name `fromNode` as its sender (see Subscriber). Without signature checks,
   * undefined.
   */
  frameRefusal(frame: RawFrame, fromNode: string, expiresAt: number): Refusal | undefined {
    if (!this.c.enableSignatureCheck) return undefined;
    const r = this.frameRefusalOf(frame, fromNode, expiresAt);
    if (r) this.countRefusal(r.code);
    return r;
  }

  private frameRefusalOf(frame: RawFrame, fromNode: string, expiresAt: number): Refusal | undefined {
    if (expiresAt < Date.now())
      return { code: 'expired', reason: `frame expired at ${new Date(expiresAt).toISOString()} (a replay, or clocks out of sync)` };
    if (frame.signature === '-') return { code: 'unsigned', reason: `unsigned frame from "${fromNode}"` };
    const key = this.trust.publicKeyOf(fromNode);
    if (!key) return { code: 'untrusted', reason: `sender "${fromNode}" has no approved key (steward keys allow ${fromNode} at central)` };
    if (!frameSignatureValid(frame, key))
      return {
        code: 'badSignature',
        reason: `frame signature does not verify against the approved key of "${fromNode}" (changed in transit, or forged)`,
      };
    return undefined;
  }

  /**
   * With signature checks on: why a frame of ACKs from `node`, received for
   * messages sent to `target`, is not that node's own answer, or undefined
   * when it is (see ackRefusal).
   */
  ackFrameRefusal(frame: RawFrame, node: string, target: string): AckRefusal | undefined {
    if (!this.c.enableSignatureCheck) return undefined;
    let r: AckRefusal | undefined;
    if (node !== target) r = { code: 'wrongNode', reason: `ACK frame from node "${node}", but the messages went to "${target}"` };
    else if (frame.signature === '-') r = { code: 'unsigned', reason: `unsigned ACK frame for messages to "${target}"` };
    else {
      const key = this.trust.publicKeyOf(target);
      if (!key) r = { code: 'untrusted', reason: `"${target}" has no approved key (steward keys allow ${target} at central)` };
      else if (!frameSignatureValid(frame, key))
        r = { code: 'badSignature', reason: `ACK frame signature does not verify against the approved key of "${target}" (forged)` };
    }
    if (r) this.ackRefusals.set(r.code, (this.ackRefusals.get(r.code) ?? 0) + 1);
    return r;
  }

  /**
   * Checks a received message (`raw` is the parsed payload, `m` its
   * validated form). Returns why it must not run, or undefined. `isReply`:
   * the reply guard judged it a reply (taken, or refused as unsolicited), so
   * the ACL is not asked: a taken reply runs on its request's authority.
   */
  check(raw: Record<string, unknown>, m: WireMessage, isReply = false, framed = false): Refusal | undefined {
    const r = this.refusalOf(raw, m, isReply, framed);
    if (r) this.countRefusal(r.code);
    return r;
  }

  /** Counts a refusal decided elsewhere (the reply guard). */
  countRefusal(code: Refusal['code']): void {
    this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
  }

  /** ACKs ignored, by code, since start. */
  readonly ackRefusals = new Map<AckRefusal['code'], number>();

  /**
   * The ACK body for `reply`, signed with this node's key. Always signed,
   * whatever this node checks itself, so a sender that checks ACKs can trust it.
   */
  signAck(reply: WireAck): WireAck & { signature: string } {
    return signAck(reply, this.keys.privateKey);
  }

  /**
   * With signature checks on: why the ACK body `raw`, received for a
   * message sent to `target`, is not that node's own answer (unsigned,
   * signed by another key, or naming another node), or undefined when it is.
   * Without signature checks every ACK is taken, as before.
   */
  ackRefusal(raw: Record<string, unknown>, target: string): AckRefusal | undefined {
    if (!this.c.enableSignatureCheck) return undefined;
    const r = this.ackRefusalOf(raw, target);
    if (r) this.ackRefusals.set(r.code, (this.ackRefusals.get(r.code) ?? 0) + 1);
    return r;
  }

  private ackRefusalOf(raw: Record<string, unknown>, target: string): AckRefusal | undefined {
    if (raw.node !== target)
      return { code: 'wrongNode', reason: `ACK names node "${String(raw.node)}", but the message went to "${target}"` };
    if (raw.signature === undefined) return { code: 'unsigned', reason: `unsigned ACK for a message to "${target}"` };
    const key = this.trust.publicKeyOf(target);
    if (!key) return { code: 'untrusted', reason: `"${target}" has no approved key (steward keys allow ${target} at central)` };
    if (!ackSignatureValid(raw, key))
      return { code: 'badSignature', reason: `ACK signature does not verify against the approved key of "${target}" (forged)` };
    return undefined;
  }

  /**
   * With ACL checks on: why this node must not send `method` to `to` on
   * behalf of `from` (a reply to a third node), judged by the fleet's ACL as
   * if `from` sent it itself; undefined when it may.
   */
  relayRefusal(from: string, method: string, to: string, data: readonly string[]): string | undefined {
    if (!this.c.enableAclCheck) return undefined;
    return aclRefusal(this.policy(), {
      to,
      from,
      method,
      data,
      central: this.c.centralNodeName,
    });
  }

  private refusalOf(raw: Record<string, unknown>, m: WireMessage, isReply: boolean, framed: boolean): Refusal | undefined {
    const expiresAt = raw.expiresAt;
    if (typeof expiresAt === 'number' && expiresAt < Date.now())
      return { code: 'expired', reason: `expired at ${new Date(expiresAt).toISOString()} (a replay, or clocks out of sync)` };
    // A hello proves the key it carries with its own signature: it never travels in a frame.
    if (framed && methodInfo(m.method)?.offersKey === true)
      return { code: 'unsigned', reason: `${m.method} from "${m.fromNode}" arrived in a frame: it must carry its own signature` };
    const helloKey = this.isCentral && methodInfo(m.method)?.offersKey === true ? this.helloKeyOf(m) : undefined;
    if (helloKey) {
      // A hello is signed with the key it carries: that proves the sender holds it; trust is the operator's call.
      if (!verifyMessage(raw, raw.signature, helloKey.key))
        return { code: 'badSignature', reason: `${m.method} from "${m.fromNode}" is not signed by the key it carries` };
      const hello = recordHelloKey(this.c.nodeFolder, m.fromNode, helloKey.text);
      const fingerprint = keyFingerprint(helloKey.text);
      if (!hello.accepted) {
        // Another key under a known name never replaces the node's key: the operator sees both and names one.
        const registered = `its ${hello.status} key ${keyFingerprint(hello.registeredKey)}`;
        if (hello.newlyOffered)
          this.log.warn(
            `node ${m.fromNode} said hello with another key ${fingerprint} (${registered}): kept as an offered key, not trusted; an attack or a reinstall, see CONFLICT in steward keys list`,
          );
        return {
          code: 'untrusted',
          reason: `${m.method} from "${m.fromNode}" carries key ${fingerprint}, not ${registered}: recorded as an offered key, not trusted`,
        };
      }
      if (hello.status === KeyStatus.Pending)
        this.log.info(`key ${fingerprint} of node ${m.fromNode} waits for approval: steward keys allow ${m.fromNode} ${fingerprint}`);
      else if (hello.status === KeyStatus.Allowed) this.pushSoon();
      return undefined;
    }
    // A framed message was proven by its frame's signature (frameRefusal), and names the frame's signer.
    if (this.c.enableSignatureCheck && !framed) {
      const r = this.signatureRefusal(raw, m, expiresAt);
      if (r) return r;
    }
    // A reply this node took as the answer to its own request runs on that request's authority (see replyGuard.ts).
    if (this.c.enableAclCheck && !isReply) {
      const reason = aclRefusal(this.policy(), {
        to: this.c.node,
        from: m.fromNode,
        method: m.method,
        data: m.data,
        central: this.c.centralNodeName,
      });
      if (reason) return { code: 'acl', reason };
    }
    return undefined;
  }

  private signatureRefusal(raw: Record<string, unknown>, m: WireMessage, expiresAt: unknown): Refusal | undefined {
    if (raw.signature === undefined) return { code: 'unsigned', reason: `unsigned message from "${m.fromNode}"` };
    if (typeof expiresAt !== 'number') return { code: 'unsigned', reason: 'no expiresAt: every signed message must carry one' };
    const key = this.trust.publicKeyOf(m.fromNode);
    if (!key)
      return { code: 'untrusted', reason: `sender "${m.fromNode}" has no approved key (steward keys allow ${m.fromNode} at central)` };
    if (!verifyMessage(raw, raw.signature, key))
      return {
        code: 'badSignature',
        reason: `signature does not verify against the approved key of "${m.fromNode}" (changed in transit, or forged)`,
      };
    return undefined;
  }

  private helloKeyOf(m: WireMessage): { text: string; key: NonNullable<ReturnType<typeof publicKeyFromText>> } | undefined {
    const el = m.data.find((d) => typeof d === 'string' && d.startsWith(HELLO_KEY_PREFIX));
    const text = el?.slice(HELLO_KEY_PREFIX.length);
    const key = publicKeyFromText(text);
    return text && key ? { text, key } : undefined;
  }

  /**
   * Starts listening for key sets from central, and on central, pushing
   * them: whenever the register's approved set changes (checked every
   * second) and every `keysPushInterval` seconds.
   */
  start(nc: NatsConnection): void {
    this.nc = nc;
    this.sub = nc.subscribe(`${this.c.node}.EventNACK.${KEYS_UPDATE}`, {
      callback: (err, msg) => {
        if (err) return;
        try {
          if (msg.data.length > 4 * 1024 * 1024) throw new KeySetError('key set too large');
          if (this.trust.apply(JSON.parse(new TextDecoder().decode(msg.data))))
            this.log.info(`adopted key set version ${this.trust.version} from ${this.c.centralNodeName}`, {
              trusted: this.trust.trustedNodes().join(','),
            });
        } catch (e) {
          this.log.warn(`refused a key set: ${(e as Error).message}`);
        }
      },
    });
    if (!this.isCentral) return;
    this.timers.push(setInterval(() => this.pollRegistry(), 1000));
    this.timers.push(setInterval(() => this.push(), this.c.keysPushInterval * 1000));
    this.push();
  }

  private nc?: NatsConnection;
  private pushTimer?: NodeJS.Timeout;

  private pushSoon(): void {
    if (this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      this.push();
    }, 200);
  }

  private pollRegistry(): void {
    let mtime = 0;
    try {
      mtime = statSync(registryPath(this.c.nodeFolder)).mtimeMs;
    } catch {
      return;
    }
    try {
      mtime += statSync(aclPath(this.c.nodeFolder)).mtimeMs;
    } catch {
      // no ACL file
    }
    if (mtime === this.lastRegistryMtime) return;
    this.lastRegistryMtime = mtime;
    if (this.setVersion() !== this.lastPushedVersion) this.push();
  }

  /** The version of the pushed set: both parts only grow, so their sum does too. */
  private setVersion(): number {
    return readRegistry(this.c.nodeFolder).version + readAcl(this.c.nodeFolder).version;
  }

  private applyOwnSet(): ReturnType<typeof signKeySet> {
    const r = readRegistry(this.c.nodeFolder);
    const set = signKeySet(
      {
        type: 'KeysUpdate',
        fromNode: this.c.node,
        version: this.setVersion(),
        keys: approvedKeys(r),
        acl: readAcl(this.c.nodeFolder),
        centralPublicKey: this.keys.publicKeyText,
        issuedAt: Date.now(),
      },
      this.keys.privateKey,
    );
    this.trust.apply(set);
    return set;
  }

  /** Central: signs the approved set and sends it to every node in the register. */
  private push(): void {
    try {
      const set = this.applyOwnSet();
      const payload = JSON.stringify(set);
      const nodes = Object.keys(readRegistry(this.c.nodeFolder).nodes).filter((n) => n !== this.c.node);
      for (const n of nodes) this.nc?.publish(`${n}.EventNACK.${KEYS_UPDATE}`, payload);
      if (set.version !== this.lastPushedVersion)
        this.log.info(`pushed key set version ${set.version} to ${nodes.length} nodes`, { approved: Object.keys(set.keys).join(',') });
      this.lastPushedVersion = set.version;
    } catch (e) {
      this.log.error(`could not push the key set: ${(e as Error).message}`);
    }
  }

  /** Stops listening and pushing. */
  stop(): void {
    this.sub?.unsubscribe();
    for (const t of this.timers) clearInterval(t);
    if (this.pushTimer) clearTimeout(this.pushTimer);
  }
}

/**
 * Pipelined ordered delivery, receiver side: a message names the one it
 * follows (`follows`), and arrives maybe before it. Such a message is held,
 * neither journaled nor ACKed, until its predecessor is taken; the sender
 * resends it if that never happens, so nothing held is ever lost.
 */
import type { WireMessage } from '@steward/core';
import type { Logger } from '../observability/logger.js';
import type { Arrival } from './inboundMessage.js';

/** A message that arrived before the one it follows; taken when that one is. */
interface Held {
  msg: Arrival;
  /** The id of the held message itself. */
  id: string;
}

/** Messages held back waiting for their predecessor, at most (beyond it the oldest is dropped: its sender resends it). */
const maxHeld = 4096;
/** Refused message ids remembered, so a message that follows one is not held for it. */
const maxRefused = 1024;

/** @internal */
export class HeldMessages {
  /** Held messages by the id they follow. Not journaled and not ACKed: the sender resends them if we stop. */
  private readonly held = new Map<string, Held>();
  /** For each held message id, the id it follows (its key in `held`). */
  private readonly heldFollows = new Map<string, string>();
  /** Recently refused ids (answered `rejected`, never journaled), oldest first. */
  private readonly refused = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** Whether any message is held now. */
  get size(): number {
    return this.heldFollows.size;
  }

  /** Whether message `id` was refused recently. */
  wasRefused(id: string): boolean {
    return this.refused.has(id);
  }

  /** A message answered `rejected` (never journaled): remember it, so what follows it is not held for it. */
  refuse(id: string): void {
    this.refused.add(id);
    if (this.refused.size > maxRefused) this.refused.delete(this.refused.values().next().value!);
  }

  /** Keeps `m` until the message it follows arrives; unACKed, so the sender resends it if that never happens. */
  hold(m: WireMessage, msg: Arrival): void {
    const follows = m.follows!;
    // A resend may name another predecessor (the one named before was given up): keep only the newest copy.
    this.unhold(m.id);
    const displaced = this.held.get(follows);
    if (displaced) this.heldFollows.delete(displaced.id);
    else if (this.held.size >= maxHeld) {
      // The oldest is most likely waiting for a message its sender gave up on; the sender resends it anyway.
      const [oldestKey, oldest] = this.held.entries().next().value!;
      this.held.delete(oldestKey);
      this.heldFollows.delete(oldest.id);
    }
    this.held.set(follows, { msg, id: m.id });
    this.heldFollows.set(m.id, follows);
    this.log.info(`arrived before ${follows}, which it follows: held until that one arrives`, { id: m.id, subject: msg.subject });
  }

  /** Forgets a held copy of message `id`, if there is one. */
  unhold(id: string): void {
    const key = this.heldFollows.get(id);
    if (key === undefined) return;
    this.heldFollows.delete(id);
    if (this.held.get(key)?.id === id) this.held.delete(key);
  }

  /** `id` was taken: removes and returns the message held for it, if any. */
  followerOf(id: string): Arrival | undefined {
    const next = this.held.get(id);
    if (!next) return undefined;
    this.held.delete(id);
    this.heldFollows.delete(next.id);
    return next.msg;
  }

  /** Forgets every held message (the subscriber stops; their senders resend them). */
  clear(): void {
    this.held.clear();
    this.heldFollows.clear();
  }
}

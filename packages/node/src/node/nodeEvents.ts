/**
 * The node's live event stream: every state change of every message actor,
 * every failure and every supervision event, as plain data. The socket API
 * streams it to `steward send`, the inspector draws it, metrics count it.
 */
import { EventEmitter } from 'node:events';
import type { AckReply, WireMessage } from '@steward/core';
import type { SupervisorEvent } from '@steward/core';
import type { Failure } from './errorKernel.js';

/** A message entered the outbox (emitted only while someone listens: see NodeServices.submit). */
export interface AcceptedEvent {
  id: string;
  subject: string;
  message: WireMessage;
  /** The input it came from (`inmsg.txt`, `socket`, `startup/<file>`, ...), when it said. */
  source?: string;
  time: number;
}

/** A delivery actor changed state (sending side). */
export interface DeliveryEvent {
  id: string;
  subject: string;
  message: WireMessage;
  /** The delivery machine state: queued, sending, awaitingAck, retryWait, delivered, expired. */
  state: string;
  attempts: number;
  reply?: AckReply;
  lastError?: string;
  time: number;
}

/** An execution actor changed state (receiving side). */
export interface ExecutionEvent {
  id: string;
  subject: string;
  message: WireMessage;
  /** The execution machine state: received, running, succeeded, failed, timedOut, rejected, interrupted, duplicate, replied. */
  state: string;
  result?: AckReply;
  time: number;
}

/** The events of a node, by name. */
export interface NodeEventMap {
  accepted: [AcceptedEvent];
  /** An execution actor was created, in its `received` state (emitted only while someone listens: see ExecutionRunner). */
  received: [ExecutionEvent];
  delivery: [DeliveryEvent];
  execution: [ExecutionEvent];
  failure: [Failure];
  supervisor: [SupervisorEvent];
}

/** A typed event emitter for {@link NodeEventMap}. Listeners must not throw. */
export class NodeEvents extends EventEmitter<NodeEventMap> {
  constructor() {
    super();
    // Many `steward send` clients may listen at once.
    this.setMaxListeners(0);
  }
}

/**
 * The four kinds of message and what each asks of the receiver. Its own
 * module so the method catalogue (which names each method's default kind) and
 * the message schema can both import it without importing each other.
 */

/** The four kinds of message; the kind is also the middle token of the subject. */
export const MessageKind = {
  /** Run, then ACK with the output. */
  CommandACK: 'CommandACK',
  /** ACK on durable receipt; the output, if any, comes back as a new message. */
  EventACK: 'EventACK',
  /** Run, no ACK. */
  CommandNACK: 'CommandNACK',
  /** Fire and forget. */
  EventNACK: 'EventNACK',
} as const;
/** The four kinds of message. */
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

/** Whether the sender waits for an ACK for this kind. */
export function kindWantsAck(kind: MessageKind): boolean {
  return kind === MessageKind.CommandACK || kind === MessageKind.EventACK;
}

/** Whether the ACK carries the method's output (Command kinds) or only receipt. */
export function kindIsCommand(kind: MessageKind): boolean {
  return kind === MessageKind.CommandACK || kind === MessageKind.CommandNACK;
}

/**
 * Frames: a transport detail that carries many messages of one subject (or
 * many ACKs to one sender) in one NATS message, with one signature. What
 * users see (subjects, the message JSON of each message, ACK fields) stays
 * the same; only how they travel changes.
 *
 * A frame is text: a tag, the base64 ed25519 signature, and the frame's JSON,
 * separated by single spaces:
 *
 *   SF1 <signature> {"fromNode":"central","toNode":"ship1","expiresAt":…,"messages":[{…},{…}]}
 *   SA1 <signature> {"node":"ship1","acks":[{…},{…}]}
 *
 * The signature covers a fixed domain string and the exact JSON bytes that
 * follow it (no canonical form to rebuild, so checking a frame costs one
 * verify whatever it holds). The domains differ from each other and from
 * the signed JSON of a single message or ACK, so no signature can be taken
 * for another kind. A frame never starts with `{`, so a node that predates
 * frames refuses one as not JSON instead of misreading it.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { ValidationError } from './errors.js';

/** The tag of a frame of messages. */
export const MESSAGE_FRAME_TAG = 'SF1';
/** The tag of a frame of ACKs. */
export const ACK_FRAME_TAG = 'SA1';

const domains = { [MESSAGE_FRAME_TAG]: 'steward-frame-v1\n', [ACK_FRAME_TAG]: 'steward-ack-frame-v1\n' } as const;

/** Which kind of frame. */
export type FrameTag = typeof MESSAGE_FRAME_TAG | typeof ACK_FRAME_TAG;

/** Most messages (or ACKs) one frame may carry; a larger one is refused whole. */
export const MAX_FRAME_ENTRIES = 4096;

/**
 * Splits `items` into the frames they travel in, in order: runs of at most
 * `maxEntries` whose `sizeOf` sum stays within `maxBytes`. An item for which
 * `alone` holds is a run of its own, and ends the run before it, so nothing
 * overtakes what was handed over before it.
 */
export function frameRuns<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  maxBytes: number,
  maxEntries: number = MAX_FRAME_ENTRIES,
  alone: (item: T) => boolean = () => false,
): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (alone(item)) {
      if (run.length > 0) runs.push(run);
      runs.push([item]);
      run = [];
      bytes = 0;
      continue;
    }
    if (run.length > 0 && (bytes + size > maxBytes || run.length >= maxEntries)) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(item);
    bytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** A frame as it arrived: its JSON text (parsed later), the exact bytes signed, and the signature. */
export interface RawFrame {
  tag: FrameTag;
  signature: string;
  /** The JSON bytes after the header, as they arrived. */
  json: Uint8Array;
}

const space = 0x20;

/** Whether `data` is a frame of kind `tag` (a cheap look at its first bytes). */
export function isFrame(data: Uint8Array, tag: FrameTag): boolean {
  return (
    data.length > 4 && data[3] === space && data[0] === tag.charCodeAt(0) && data[1] === tag.charCodeAt(1) && data[2] === tag.charCodeAt(2)
  );
}

function signedBytesOf(tag: FrameTag, json: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(domains[tag], 'utf8'), json]);
}

/** The wire bytes of a frame of kind `tag` with JSON text `json`, signed with `privateKey` (unsigned: `-`). */
export function encodeFrame(tag: FrameTag, json: string, privateKey: KeyObject | undefined): Buffer {
  const body = Buffer.from(json, 'utf8');
  const signature = privateKey ? sign(null, signedBytesOf(tag, body), privateKey).toString('base64') : '-';
  return Buffer.concat([Buffer.from(`${tag} ${signature} `, 'utf8'), body]);
}

/**
 * Splits a received frame into its parts (the JSON is not parsed here).
 *
 * @throws {@link ValidationError} when the header is malformed.
 */
export function splitFrame(data: Uint8Array, tag: FrameTag): RawFrame {
  if (!isFrame(data, tag)) throw new ValidationError([{ field: '(frame)', reason: `does not start with "${tag} "` }]);
  const end = Buffer.from(data.buffer, data.byteOffset, data.byteLength).indexOf(space, 4);
  if (end < 0 || end - 4 > 200) throw new ValidationError([{ field: '(frame)', reason: 'has no signature field' }]);
  const signature = Buffer.from(data.subarray(4, end)).toString('latin1');
  return { tag, signature, json: data.subarray(end + 1) };
}

/** Whether the frame's signature verifies against `publicKey`. Never throws. */
export function frameSignatureValid(frame: RawFrame, publicKey: KeyObject): boolean {
  if (frame.signature === '-' || !/^[A-Za-z0-9+/=]{40,200}$/.test(frame.signature)) return false;
  try {
    return verify(null, signedBytesOf(frame.tag, frame.json), publicKey, Buffer.from(frame.signature, 'base64'));
  } catch {
    return false;
  }
}

/** The parsed JSON of a frame of messages. */
export interface MessageFrame {
  fromNode: string;
  toNode: string;
  /** The replay window of every message in it (see a single message's `expiresAt`). */
  expiresAt: number;
  /** The messages, each as its own wire JSON object would be, without `signature` and `expiresAt`. */
  messages: Record<string, unknown>[];
}

/** The parsed JSON of a frame of ACKs. */
export interface AckFrame {
  /** The node that answers. */
  node: string;
  acks: Record<string, unknown>[];
}

function parseJson(frame: RawFrame): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(frame.json.buffer, frame.json.byteOffset, frame.json.byteLength).toString('utf8'));
  } catch (err) {
    throw new ValidationError([{ field: '(frame)', reason: `not JSON: ${(err as Error).message}` }]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ValidationError([{ field: '(frame)', reason: 'must be a JSON object' }]);
  return raw as Record<string, unknown>;
}

function entries(value: unknown, field: string): Record<string, unknown>[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_FRAME_ENTRIES)
    throw new ValidationError([{ field, reason: `must be an array of 1 to ${MAX_FRAME_ENTRIES} objects` }]);
  for (const e of value)
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new ValidationError([{ field, reason: 'must hold only objects' }]);
  return value as Record<string, unknown>[];
}

/**
 * Parses the JSON of a frame of messages.
 *
 * @throws {@link ValidationError} naming the field that is wrong.
 */
export function parseMessageFrame(frame: RawFrame): MessageFrame {
  const o = parseJson(frame);
  const problems = [];
  if (typeof o.fromNode !== 'string' || o.fromNode === '') problems.push({ field: 'fromNode', reason: 'must be a node name' });
  if (typeof o.toNode !== 'string' || o.toNode === '') problems.push({ field: 'toNode', reason: 'must be a node name' });
  if (typeof o.expiresAt !== 'number') problems.push({ field: 'expiresAt', reason: 'must be a number' });
  if (problems.length) throw new ValidationError(problems);
  return {
    fromNode: o.fromNode as string,
    toNode: o.toNode as string,
    expiresAt: o.expiresAt as number,
    messages: entries(o.messages, 'messages'),
  };
}

/**
 * Parses the JSON of a frame of ACKs.
 *
 * @throws {@link ValidationError} naming the field that is wrong.
 */
export function parseAckFrame(frame: RawFrame): AckFrame {
  const o = parseJson(frame);
  if (typeof o.node !== 'string' || o.node === '') throw new ValidationError([{ field: 'node', reason: 'must be a node name' }]);
  return { node: o.node, acks: entries(o.acks, 'acks') };
}

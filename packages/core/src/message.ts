/**
 * The message: its kinds, its shape on input and on the wire, and the
 * validation that turns untrusted JSON into a typed value (once, at the edge).
 * Field names are the seed's and are case sensitive.
 */
import { ValidationError, type FieldProblem } from './errors.js';
import { DataShape, methodInfo, methodCatalog } from './methodCatalog.js';

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

const kinds = new Set<string>(Object.values(MessageKind));

/** Whether the sender waits for an ACK for this kind. */
export function kindWantsAck(kind: MessageKind): boolean {
  return kind === MessageKind.CommandACK || kind === MessageKind.EventACK;
}

/** Whether the ACK carries the method's output (Command kinds) or only receipt. */
export function kindIsCommand(kind: MessageKind): boolean {
  return kind === MessageKind.CommandACK || kind === MessageKind.CommandNACK;
}

/** `retries` value meaning: resend until delivered, never expire. */
export const RETRY_FOREVER = -1;
/** `methodTimeout` value meaning: let the method run as long as it takes. */
export const NO_METHOD_TIMEOUT = -1;

/**
 * What an operator writes (inmsg.txt, `steward send`): the seed's fields.
 * Optional numbers fall back to the node's defaults when the message is sent.
 */
export interface MessageSpec {
  /** The node that runs the message. */
  toNode: string;
  /** What the message does on the receiver. */
  method: string;
  /** The kind; from the method's default when absent. */
  commandOrEvent: MessageKind;
  /** Arguments: an argv for command methods, text for the others. */
  data: string[];
  /** Seconds to wait for the ACK before resending. */
  timeout?: number;
  /** Resends after the first try; {@link RETRY_FOREVER} for no limit. */
  retries?: number;
  /** ACK timeout of the reply message a request creates. */
  requestTimeout?: number;
  /** Retries of the reply message a request creates. */
  requestRetries?: number;
  /** Seconds the method may run; {@link NO_METHOD_TIMEOUT} for no limit. */
  methodTimeout?: number;
  /** Extra seconds to wait between an ACK timeout and the resend. */
  retryWait?: number;
  /**
   * When the receiving node is killed while this message's command runs, run
   * it again after the restart instead of reporting it as interrupted.
   */
  rerunInterrupted?: boolean;
}

/** A message as it travels between nodes: the spec with every default resolved. */
export interface WireMessage extends MessageSpec {
  /** Unique id, chosen by the sending node; the receiver deduplicates on it. */
  id: string;
  /** The sending node. Set by the sender; input readers overwrite it. */
  fromNode: string;
  /** Milliseconds since the epoch when the message was accepted by the sender. */
  createdAt: number;
  timeout: number;
  retries: number;
  methodTimeout: number;
  /** For a reply: the id of the request it answers. */
  previousMessageId?: string;
}

/** The field names a message may carry; others are reported and ignored. */
const knownFields = new Set([
  'toNode',
  'method',
  'commandOrEvent',
  'data',
  'methodArgs',
  'timeout',
  'ACKTimeout',
  'retries',
  'requestTimeout',
  'requestRetries',
  'methodTimeout',
  'retryWait',
  'rerunInterrupted',
  // set by nodes, accepted and overwritten on input
  'id',
  'fromNode',
  'createdAt',
  'previousMessageId',
]);

const nodeNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Whether `name` can be a node name: letters, digits, `_` and `-`, at most 64. */
export function isValidNodeName(name: string): boolean {
  return nodeNamePattern.test(name);
}

/** Explains why a node name is refused, or returns undefined when it is fine. */
export function nodeNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string, got ${describe(name)}`;
  if (name === '') return 'must not be empty';
  if (!nodeNamePattern.test(name))
    return `"${printable(name)}" is not a node name: use 1 to 64 letters, digits, "_" or "-", starting with a letter or digit (no dots, spaces, "/" or "*")`;
  return undefined;
}

/** The result of validating one message: the value, plus warnings about ignored fields. */
export interface ParsedSpec {
  spec: MessageSpec;
  warnings: string[];
}

/**
 * Validates untrusted input as a message spec. Collects every problem before
 * throwing, so one error names all wrong fields.
 *
 * @throws {@link ValidationError} naming each wrong field and why.
 */
export function parseMessageSpec(raw: unknown): ParsedSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ValidationError([{ field: '(message)', reason: `must be a JSON object, got ${describe(raw)}` }]);
  }
  const obj = raw as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  const warnings: string[] = [];
  for (const key of Object.keys(obj)) {
    if (!knownFields.has(key)) warnings.push(`unknown field "${key}" ignored`);
  }

  const toNodeProblem = nodeNameProblem(obj.toNode);
  if (obj.toNode === undefined) problems.push({ field: 'toNode', reason: 'is missing' });
  else if (toNodeProblem) problems.push({ field: 'toNode', reason: toNodeProblem });

  let method = '';
  if (obj.method === undefined) problems.push({ field: 'method', reason: 'is missing' });
  else if (typeof obj.method !== 'string') problems.push({ field: 'method', reason: `must be a string, got ${describe(obj.method)}` });
  else if (!methodInfo(obj.method))
    problems.push({
      field: 'method',
      reason: `unknown method "${printable(obj.method)}" (known: ${[...methodCatalog.keys()].join(', ')}; names are case sensitive)`,
    });
  else method = obj.method;
  const info = methodInfo(method);

  let kind: MessageKind | undefined = info?.defaultKind;
  if (obj.commandOrEvent !== undefined) {
    if (typeof obj.commandOrEvent !== 'string' || !kinds.has(obj.commandOrEvent))
      problems.push({
        field: 'commandOrEvent',
        reason: `must be one of ${[...kinds].join(', ')}, got ${describe(obj.commandOrEvent)}`,
      });
    else kind = obj.commandOrEvent as MessageKind;
  }

  // The mature steward renamed data to methodArgs; either spelling is accepted.
  const dataField = obj.data !== undefined ? 'data' : obj.methodArgs !== undefined ? 'methodArgs' : 'data';
  const rawData = obj.data ?? obj.methodArgs;
  let data: string[] = [];
  if (obj.data !== undefined && obj.methodArgs !== undefined) {
    problems.push({ field: 'methodArgs', reason: 'give either "data" or "methodArgs", not both' });
  } else if (rawData === undefined) {
    if (info?.data === DataShape.Argv)
      problems.push({ field: dataField, reason: `is missing: ${method} needs the command as an array, e.g. ["bash","-c","uptime"]` });
  } else if (!Array.isArray(rawData)) {
    problems.push({ field: dataField, reason: `must be an array of strings, got ${describe(rawData)}` });
  } else {
    rawData.forEach((v, i) => {
      if (typeof v !== 'string') problems.push({ field: `${dataField}[${i}]`, reason: `must be a string, got ${describe(v)}` });
    });
    data = rawData.filter((v): v is string => typeof v === 'string');
    if (info?.data === DataShape.Argv && rawData.length === 0)
      problems.push({ field: dataField, reason: `must not be empty: ${method} needs the program to run as its first element` });
    else if (info?.data === DataShape.Argv && data[0] === '')
      problems.push({ field: `${dataField}[0]`, reason: 'the program name must not be empty' });
  }

  const timeoutField = obj.timeout !== undefined ? 'timeout' : 'ACKTimeout';
  // A zero ACK timeout would resend in a tight loop, so it is refused.
  const timeout = seconds(obj.timeout ?? obj.ACKTimeout, timeoutField, problems, { min: 0.01 });
  const retries = integer(obj.retries, 'retries', problems, RETRY_FOREVER);
  const requestTimeout = seconds(obj.requestTimeout, 'requestTimeout', problems, { min: 0.01 });
  const requestRetries = integer(obj.requestRetries, 'requestRetries', problems, RETRY_FOREVER);
  const methodTimeout = seconds(obj.methodTimeout, 'methodTimeout', problems, { min: 0.01, allowForever: true });
  const retryWait = seconds(obj.retryWait, 'retryWait', problems, { min: 0 });
  if (obj.rerunInterrupted !== undefined && typeof obj.rerunInterrupted !== 'boolean')
    problems.push({ field: 'rerunInterrupted', reason: `must be true or false, got ${describe(obj.rerunInterrupted)}` });

  if (problems.length > 0 || kind === undefined) throw new ValidationError(problems);

  const spec: MessageSpec = { toNode: obj.toNode as string, method, commandOrEvent: kind, data };
  if (timeout !== undefined) spec.timeout = timeout;
  if (retries !== undefined) spec.retries = retries;
  if (requestTimeout !== undefined) spec.requestTimeout = requestTimeout;
  if (requestRetries !== undefined) spec.requestRetries = requestRetries;
  if (methodTimeout !== undefined) spec.methodTimeout = methodTimeout;
  if (retryWait !== undefined) spec.retryWait = retryWait;
  if (obj.rerunInterrupted === true) spec.rerunInterrupted = true;
  return { spec, warnings };
}

/**
 * Validates a message received from NATS: a spec plus the fields the sending
 * node sets. Anything that does not parse is refused before it can run.
 *
 * @throws {@link ValidationError}
 */
export function parseWireMessage(raw: unknown): WireMessage {
  const problems: FieldProblem[] = [];
  let spec: MessageSpec | undefined;
  try {
    spec = parseMessageSpec(raw).spec;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // Keep going: the sender-set fields are checked too, so one answer names every problem.
    problems.push(...err.problems);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw err;
  }
  const obj = raw as Record<string, unknown>;
  if (typeof obj.id !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(obj.id))
    problems.push({ field: 'id', reason: 'must be 1 to 128 letters, digits, "_" or "-"' });
  const fromProblem = nodeNameProblem(obj.fromNode);
  if (fromProblem) problems.push({ field: 'fromNode', reason: fromProblem });
  if (typeof obj.createdAt !== 'number' || !Number.isFinite(obj.createdAt))
    problems.push({ field: 'createdAt', reason: 'must be a number (milliseconds since the epoch)' });
  for (const f of ['timeout', 'retries', 'methodTimeout'] as const) {
    if (spec && spec[f] === undefined) problems.push({ field: f, reason: 'is missing (a sending node always sets it)' });
  }
  if (obj.previousMessageId !== undefined && typeof obj.previousMessageId !== 'string')
    problems.push({ field: 'previousMessageId', reason: 'must be a string' });
  if (problems.length > 0 || !spec) throw new ValidationError(problems);
  const wire: WireMessage = {
    ...spec,
    id: obj.id as string,
    fromNode: obj.fromNode as string,
    createdAt: obj.createdAt as number,
    timeout: spec.timeout as number,
    retries: spec.retries as number,
    methodTimeout: spec.methodTimeout as number,
  };
  if (typeof obj.previousMessageId === 'string') wire.previousMessageId = obj.previousMessageId;
  return wire;
}

/** Node-wide defaults applied to a spec when it becomes a wire message. */
export interface MessageDefaults {
  /** @defaultValue 10 */
  timeout: number;
  /** @defaultValue 1 */
  retries: number;
  /** @defaultValue 10 */
  methodTimeout: number;
}

/** Resolves a spec's defaults and stamps it with id, sender and time. */
export function toWireMessage(
  spec: MessageSpec,
  from: { fromNode: string; id: string; now: number },
  defaults: MessageDefaults,
): WireMessage {
  return {
    ...spec,
    id: from.id,
    fromNode: from.fromNode,
    createdAt: from.now,
    timeout: spec.timeout ?? defaults.timeout,
    retries: spec.retries ?? defaults.retries,
    methodTimeout: spec.methodTimeout ?? defaults.methodTimeout,
  };
}

/** The NATS subject of a message: `<toNode>.<kind>.<method>`. */
export function subjectOf(m: Pick<MessageSpec, 'toNode' | 'commandOrEvent' | 'method'>): string {
  return `${m.toNode}.${m.commandOrEvent}.${m.method}`;
}

/** Splits a subject into its parts, or undefined when it is not a steward subject. */
export function parseSubject(subject: string): { toNode: string; kind: MessageKind; method: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 3) return undefined;
  const [toNode, kind, method] = parts as [string, string, string];
  if (!kinds.has(kind)) return undefined;
  return { toNode, kind: kind as MessageKind, method };
}

function seconds(v: unknown, field: string, problems: FieldProblem[], opts: { min: number; allowForever?: boolean }): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    problems.push({ field, reason: `must be a number of seconds, got ${describe(v)}` });
    return undefined;
  }
  if (opts.allowForever && v === -1) return v;
  if (v < opts.min || v > 31_536_000) {
    problems.push({
      field,
      reason: `must be between ${opts.min} and 31536000 seconds${opts.allowForever ? ' (or -1 for no limit)' : ''}, got ${v}`,
    });
    return undefined;
  }
  return v;
}

function integer(v: unknown, field: string, problems: FieldProblem[], forever: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < forever) {
    problems.push({ field, reason: `must be a whole number ≥ 0 (or ${forever} for no limit), got ${describe(v)}` });
    return undefined;
  }
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string "${printable(v).slice(0, 40)}"`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return typeof v;
}

function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The message: its kinds, its shape on input and on the wire, and the
 * validation that turns untrusted JSON into a typed value (once, at the edge).
 * Field names are the seed's and are case sensitive.
 */
import { ValidationError, type FieldProblem } from './errors.js';
import { DataShape, methodInfo, methodCatalog } from './methodCatalog.js';
import { kindWantsAck, MessageKind } from './messageKind.js';

const kinds = new Set<string>(Object.values(MessageKind));

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
  /**
   * Fan-out: one message per node, made when the message is accepted. Given
   * with `toNode`, both are targets (each node once). `local` is this node.
   */
  toNodes?: string[];
  /** The method the receiver sends its output to (the reply's method). Default: the method's own. */
  replyMethod?: string;
  /** Arguments of the reply method; `{{STEWARD_DATA}}` in them stands for the output. */
  replyMethodArgs?: string[];
  /** `methodTimeout` of the reply message. */
  replyMethodTimeout?: number;
  /** Where a reply is written: `<dataFolder>/<directory>/<node>/<fileName>` (absolute: an allowed root). */
  directory?: string;
  /** The file a reply is written to, in {@link MessageSpec.directory}. */
  fileName?: string;
  /** `[intervalSeconds, totalSeconds]`: the receiver runs the method every interval for total seconds. */
  schedule?: [number, number];
  /** Run the command in a pseudo-terminal (for programs that need a TTY). */
  pty?: boolean;
  /**
   * Seconds from acceptance after which the message is pointless: still
   * unsent by then, it is expired instead of delivered late. Resolved into
   * the wire field {@link WireMessage.deadline} when the message is accepted.
   * Not `expiresAt`: that is the signature's validity window, stamped anew
   * at every send.
   */
  ttl?: number;
}

/** The name that means "this node" in `toNode` and `toNodes`. */
export const LOCAL_NODE = 'local';

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
  /**
   * For a reply whose `data` holds the reply method's own arguments: the
   * output of the request (the value of `{{STEWARD_DATA}}`).
   */
  previousOutput?: string;
  /** The node a reply goes to, when not `fromNode` (a copy's final report goes to whoever asked for the copy). */
  replyToNode?: string;
  /**
   * Pipelined ordered delivery: the id of the message of the same sender and
   * subject that the receiver must have before it takes this one (set by the
   * sender at each send; absent when nothing earlier is still unconfirmed).
   */
  follows?: string;
  /**
   * Milliseconds since the epoch after which the message must not be sent
   * or run: `createdAt` + `ttl`, set when the message is accepted (a value
   * given on input is ignored). The sender expires it; the receiver refuses
   * it when it arrives later. Absent: no deadline.
   */
  deadline?: number;
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
  'toNodes',
  'replyMethod',
  'replyMethodArgs',
  'replyMethodTimeout',
  'replyACKTimeout',
  'replyRetries',
  'directory',
  'fileName',
  'schedule',
  'pty',
  'ttl',
  // set by nodes, accepted and overwritten on input
  'id',
  'fromNode',
  'createdAt',
  'previousMessageId',
  'previousOutput',
  'replyToNode',
  // security: set by the sending node at each send, checked by the receiver
  'signature',
  'expiresAt',
]);

const nodeNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

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

  const toNodes = nodeList(obj.toNodes, 'toNodes', problems);
  const toNodeProblem = nodeNameProblem(obj.toNode);
  if (obj.toNode === undefined) {
    if (obj.toNodes === undefined) problems.push({ field: 'toNode', reason: 'is missing' });
  } else if (toNodeProblem) problems.push({ field: 'toNode', reason: toNodeProblem });

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
  if (info?.args && rawData !== undefined && Array.isArray(rawData) && rawData.length < info.args.min)
    problems.push({ field: dataField, reason: `${method} needs ${info.args.usage}` });
  else if (info?.args && rawData === undefined && info.args.min > 0)
    problems.push({ field: 'methodArgs', reason: `is missing: ${method} needs ${info.args.usage}` });

  const timeoutField = obj.timeout !== undefined ? 'timeout' : 'ACKTimeout';
  // The mature steward's "ACKTimeout": 0 means "no ACK": the NACK variant of the kind.
  const noAck = obj.timeout === undefined && obj.ACKTimeout === 0;
  if (noAck && kind !== undefined) {
    if (obj.commandOrEvent !== undefined && kindWantsAck(kind))
      problems.push({ field: 'ACKTimeout', reason: `0 means "no ACK", but commandOrEvent is ${kind}; drop one of them` });
    else kind = kind === MessageKind.CommandACK ? MessageKind.CommandNACK : kind === MessageKind.EventACK ? MessageKind.EventNACK : kind;
  }
  // A zero ACK timeout would resend in a tight loop, so it is refused.
  const timeout = noAck ? undefined : seconds(obj.timeout ?? obj.ACKTimeout, timeoutField, problems, { min: 0.01 });
  const retries = integer(obj.retries, 'retries', problems, RETRY_FOREVER);
  // replyACKTimeout / replyRetries are the mature names; 0 there means the reply goes without ACK.
  const requestTimeoutField = obj.requestTimeout !== undefined ? 'requestTimeout' : 'replyACKTimeout';
  const rawRequestTimeout = obj.requestTimeout ?? obj.replyACKTimeout;
  const requestTimeout =
    rawRequestTimeout === 0 ? 0 : seconds(rawRequestTimeout, requestTimeoutField, problems, { min: 0.01, allowZero: true });
  const requestRetries = integer(
    obj.requestRetries ?? obj.replyRetries,
    obj.requestRetries !== undefined ? 'requestRetries' : 'replyRetries',
    problems,
    RETRY_FOREVER,
  );
  const methodTimeout = seconds(obj.methodTimeout, 'methodTimeout', problems, { min: 0.01, allowForever: true });
  const retryWait = seconds(obj.retryWait, 'retryWait', problems, { min: 0 });
  if (obj.rerunInterrupted !== undefined && typeof obj.rerunInterrupted !== 'boolean')
    problems.push({ field: 'rerunInterrupted', reason: `must be true or false, got ${describe(obj.rerunInterrupted)}` });
  if (obj.pty !== undefined && typeof obj.pty !== 'boolean')
    problems.push({ field: 'pty', reason: `must be true or false, got ${describe(obj.pty)}` });

  let replyMethod: string | undefined;
  if (obj.replyMethod !== undefined) {
    if (typeof obj.replyMethod !== 'string')
      problems.push({ field: 'replyMethod', reason: `must be a string, got ${describe(obj.replyMethod)}` });
    else if (!methodInfo(obj.replyMethod))
      problems.push({
        field: 'replyMethod',
        reason: `unknown method "${printable(obj.replyMethod)}" (known: ${[...methodCatalog.keys()].join(', ')}; names are case sensitive)`,
      });
    else replyMethod = obj.replyMethod;
  }
  const replyMethodArgs = stringList(obj.replyMethodArgs, 'replyMethodArgs', problems);
  const replyInfo = replyMethod === undefined ? undefined : methodInfo(replyMethod);
  if (replyInfo?.data === DataShape.Argv && (replyMethodArgs === undefined || replyMethodArgs.length === 0 || replyMethodArgs[0] === ''))
    problems.push({
      field: 'replyMethodArgs',
      reason: `is missing: replyMethod ${replyMethod} needs the command, e.g. ["bash","-c","echo {{STEWARD_DATA}} >> out.txt"]`,
    });
  const replyMethodTimeout = seconds(obj.replyMethodTimeout, 'replyMethodTimeout', problems, { min: 0.01, allowForever: true });
  const directory = directoryValue(obj.directory, problems);
  const fileName = fileNameValue(obj.fileName, problems);
  const schedule = scheduleValue(obj.schedule, problems);
  const ttl = seconds(obj.ttl, 'ttl', problems, { min: 0.1 });

  if (problems.length > 0 || kind === undefined) throw new ValidationError(problems);

  const toNode = (obj.toNode as string | undefined) ?? toNodes![0]!;
  const spec: MessageSpec = { toNode, method, commandOrEvent: kind, data };
  if (toNodes !== undefined) spec.toNodes = toNodes;
  if (replyMethod !== undefined) spec.replyMethod = replyMethod;
  if (replyMethodArgs !== undefined) spec.replyMethodArgs = replyMethodArgs;
  if (replyMethodTimeout !== undefined) spec.replyMethodTimeout = replyMethodTimeout;
  if (directory !== undefined) spec.directory = directory;
  if (fileName !== undefined) spec.fileName = fileName;
  if (schedule !== undefined) spec.schedule = schedule;
  if (obj.pty === true) spec.pty = true;
  if (timeout !== undefined) spec.timeout = timeout;
  if (retries !== undefined) spec.retries = retries;
  if (requestTimeout !== undefined) spec.requestTimeout = requestTimeout;
  if (requestRetries !== undefined) spec.requestRetries = requestRetries;
  if (methodTimeout !== undefined) spec.methodTimeout = methodTimeout;
  if (retryWait !== undefined) spec.retryWait = retryWait;
  if (obj.rerunInterrupted === true) spec.rerunInterrupted = true;
  if (ttl !== undefined) spec.ttl = ttl;
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
  if (obj.previousOutput !== undefined && typeof obj.previousOutput !== 'string')
    problems.push({ field: 'previousOutput', reason: 'must be a string' });
  if (obj.expiresAt !== undefined && (typeof obj.expiresAt !== 'number' || !Number.isFinite(obj.expiresAt)))
    problems.push({ field: 'expiresAt', reason: 'must be a number (milliseconds since the epoch)' });
  if (obj.deadline !== undefined && (typeof obj.deadline !== 'number' || !Number.isFinite(obj.deadline)))
    problems.push({ field: 'deadline', reason: 'must be a number (milliseconds since the epoch)' });
  if (obj.signature !== undefined && typeof obj.signature !== 'string') problems.push({ field: 'signature', reason: 'must be a string' });
  if (obj.follows !== undefined && (typeof obj.follows !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(obj.follows)))
    problems.push({ field: 'follows', reason: 'must be a message id (1 to 128 letters, digits, "_" or "-")' });
  const replyToProblem = obj.replyToNode === undefined ? undefined : nodeNameProblem(obj.replyToNode);
  if (replyToProblem) problems.push({ field: 'replyToNode', reason: replyToProblem });
  if (spec?.toNodes !== undefined) problems.push({ field: 'toNodes', reason: 'must not travel on the wire (a sending node fans it out)' });
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
  if (typeof obj.previousOutput === 'string') wire.previousOutput = obj.previousOutput;
  if (typeof obj.replyToNode === 'string') wire.replyToNode = obj.replyToNode;
  if (typeof obj.follows === 'string') wire.follows = obj.follows;
  if (typeof obj.deadline === 'number') wire.deadline = obj.deadline;
  return wire;
}

/**
 * The messages one spec becomes when it is accepted: one per target node
 * (`toNode` and every `toNodes` entry, each once, in that order), with
 * `local` replaced by `self`. Each result has a single `toNode` and no
 * `toNodes`.
 */
export function expandTargets(spec: MessageSpec, self: string): MessageSpec[] {
  // One target named once and not `local` (nearly every message): the spec itself, unchanged.
  if (spec.toNodes === undefined && spec.toNode !== LOCAL_NODE) return [spec];
  const targets = [...new Set([spec.toNode, ...(spec.toNodes ?? [])].map((n) => (n === LOCAL_NODE ? self : n)))];
  // Without `toNodes` by leaving it out, not by `delete`, which would turn every copy into a slow, larger dictionary object.
  const { toNodes: _toNodes, ...rest } = spec;
  return targets.map((toNode) => ({ ...rest, toNode }));
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

/** Resolves a spec's defaults and stamps it with id, sender and time (and the deadline its `ttl` gives). */
export function toWireMessage(
  spec: MessageSpec,
  from: { fromNode: string; id: string; now: number },
  defaults: MessageDefaults,
): WireMessage {
  // Object.assign onto an empty object, not `{ ...spec, id, … }`: the same keys in the same order, but the spread
  // copies the spec's object shape and then grows it, which makes each message ~480 bytes of heap instead of ~130,
  // and a node holds every queued message's object while it submits them. A spec holds only known fields (see
  // parseMessageSpec), so no key such as `__proto__` reaches the assignment.
  const wire = Object.assign({}, spec, {
    id: from.id,
    fromNode: from.fromNode,
    createdAt: from.now,
    timeout: spec.timeout ?? defaults.timeout,
    retries: spec.retries ?? defaults.retries,
    methodTimeout: spec.methodTimeout ?? defaults.methodTimeout,
  }) as WireMessage;
  // Counted from acceptance, so a retry of the message (a new acceptance) gets a fresh deadline.
  if (spec.ttl !== undefined) wire.deadline = from.now + spec.ttl * 1000;
  return wire;
}

/** The NATS subject of a message: `<toNode>.<kind>.<method>`. */
export function subjectOf(m: Pick<MessageSpec, 'toNode' | 'commandOrEvent' | 'method'>): string {
  return flatString(`${m.toNode}.${m.commandOrEvent}.${m.method}`);
}

/**
 * `s` stored as one piece of memory. A string built by concatenation (as
 * `randomUUID()` builds a message id from 20 pieces, or a template literal
 * builds a subject) is kept by V8 as a tree of its pieces until something reads
 * it character by character: a message id held that way takes ~490 bytes of
 * heap instead of ~65, and a subject ~130 instead of ~60. Ids and subjects are
 * held for every message in flight or queued, so they are flattened once,
 * where they are made. Returns `s` itself.
 */
export function flatString(s: string): string {
  // Reading a character flattens the tree; stored, so no compiler drops the read.
  _flattenedFirstChar = s.charCodeAt(0);
  return s;
}
let _flattenedFirstChar = 0;

/** Splits a subject into its parts, or undefined when it is not a steward subject. */
export function parseSubject(subject: string): { toNode: string; kind: MessageKind; method: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 3) return undefined;
  const [toNode, kind, method] = parts as [string, string, string];
  if (!kinds.has(kind)) return undefined;
  return { toNode, kind: kind as MessageKind, method };
}

function seconds(
  v: unknown,
  field: string,
  problems: FieldProblem[],
  opts: { min: number; allowForever?: boolean; allowZero?: boolean },
): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    problems.push({ field, reason: `must be a number of seconds, got ${describe(v)}` });
    return undefined;
  }
  if (opts.allowForever && v === -1) return v;
  if (v < opts.min || v > 31_536_000) {
    problems.push({
      field,
      reason: `must be between ${opts.min} and 31536000 seconds${opts.allowForever ? ' (or -1 for no limit)' : ''}${opts.allowZero ? ' (or 0 for no ACK)' : ''}, got ${v}`,
    });
    return undefined;
  }
  return v;
}

function stringList(v: unknown, field: string, problems: FieldProblem[]): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    problems.push({ field, reason: `must be an array of strings, got ${describe(v)}` });
    return undefined;
  }
  let ok = true;
  v.forEach((x, i) => {
    if (typeof x !== 'string') {
      problems.push({ field: `${field}[${i}]`, reason: `must be a string, got ${describe(x)}` });
      ok = false;
    }
  });
  return ok ? (v as string[]) : undefined;
}

function nodeList(v: unknown, field: string, problems: FieldProblem[]): string[] | undefined {
  const list = stringList(v, field, problems);
  if (list === undefined) return undefined;
  if (list.length === 0) {
    problems.push({ field, reason: 'must name at least one node' });
    return undefined;
  }
  let ok = true;
  list.forEach((n, i) => {
    const p = nodeNameProblem(n);
    if (p) {
      problems.push({ field: `${field}[${i}]`, reason: p });
      ok = false;
    }
  });
  return ok ? list : undefined;
}

const controlChars = /[\u0000-\u001f\u007f]/;

/**
 * `directory`: a relative path under the data folder, or an absolute one
 * (which the receiving node accepts only under an allowed root). No ".."
 * component and no control characters, checked here so that a bad path is
 * refused before it is sent; the writing node checks again, symlinks included.
 */
function directoryValue(v: unknown, problems: FieldProblem[]): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    problems.push({ field: 'directory', reason: `must be a string, got ${describe(v)}` });
    return undefined;
  }
  if (v.length > 1024) problems.push({ field: 'directory', reason: 'must be at most 1024 characters' });
  else if (controlChars.test(v))
    problems.push({ field: 'directory', reason: `must not contain control characters, got "${printable(v)}"` });
  else if (v.split(/[\\/]/).includes('..'))
    problems.push({ field: 'directory', reason: `must not contain ".." (it must stay under the data folder), got "${printable(v)}"` });
  else return v;
  return undefined;
}

/** `fileName`: one plain file name, no separators, not "." or "..". */
function fileNameValue(v: unknown, problems: FieldProblem[]): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    problems.push({ field: 'fileName', reason: `must be a string, got ${describe(v)}` });
    return undefined;
  }
  if (v === '' || v === '.' || v === '..') problems.push({ field: 'fileName', reason: `must be a file name, got "${v}"` });
  else if (v.length > 255) problems.push({ field: 'fileName', reason: 'must be at most 255 characters' });
  else if (controlChars.test(v)) problems.push({ field: 'fileName', reason: `must not contain control characters, got "${printable(v)}"` });
  else if (/[\\/]/.test(v))
    problems.push({
      field: 'fileName',
      reason: `must be a plain file name without "/" or "\\" (use directory for folders), got "${printable(v)}"`,
    });
  else return v;
  return undefined;
}

/** `schedule`: `[intervalSeconds, totalSeconds]`, interval > 0 and at most total. */
function scheduleValue(v: unknown, problems: FieldProblem[]): [number, number] | undefined {
  if (v === undefined) return undefined;
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0 && x <= 31_536_000;
  if (!Array.isArray(v) || v.length !== 2 || !ok(v[0]) || !ok(v[1])) {
    problems.push({
      field: 'schedule',
      reason: `must be [intervalSeconds, totalSeconds], two numbers > 0, got ${Array.isArray(v) ? JSON.stringify(v).slice(0, 40) : describe(v)}`,
    });
    return undefined;
  }
  if (v[0] < 0.1 || v[0] > v[1]) {
    problems.push({ field: 'schedule', reason: `the interval must be at least 0.1 s and at most the total, got ${JSON.stringify(v)}` });
    return undefined;
  }
  return [v[0], v[1]];
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

/**
 * The method table: one row per method a message can name, with every fact
 * about it that code decides on. The node package binds a handler to each
 * row (a `Record<MethodName, MethodHandler>`, so a row without a handler
 * does not compile), and the method table of docs/reference/methods.md is
 * generated from the rows (`npm run docs:methods`). Adding a method is one
 * row here and one handler file; no other code names a method to decide
 * what to do with it.
 */
import type { MessageKind } from './messageKind.js';

/** How a method reads the message's `data` array. */
export const DataShape = {
  /**
   * A command to run: `data[0]` is the program, the rest its arguments. Must
   * be non-empty. The ACL matches a rule's `commands` against it.
   */
  Argv: 'argv',
  /** Free text or arguments: the elements are written, echoed or read as the method says. */
  Text: 'text',
} as const;
/** How a method reads the message's `data` array. */
export type DataShape = (typeof DataShape)[keyof typeof DataShape];

/** Which nodes accept a method, when not every node does. */
export const AcceptedBy = {
  /** Only the node named `--centralNodeName`. */
  Central: 'central',
  /** Only a node started with `--centralErrorLogger`. */
  ErrorLogger: 'errorLogger',
} as const;
/** Which nodes accept a method, when not every node does. */
export type AcceptedBy = (typeof AcceptedBy)[keyof typeof AcceptedBy];

/** The facts about one method that every node agrees on. */
export interface MethodInfo {
  /** The method's name as written in messages (case sensitive). */
  readonly name: string;
  /** The kind used when a message does not say `commandOrEvent`. */
  readonly defaultKind: MessageKind;
  /**
   * Whether messages on one subject are executed in the order they were sent.
   * `false` for the `...NOSEQ` methods and the long-running ones, which run concurrently.
   */
  readonly ordered: boolean;
  /** How `data` is read; {@link DataShape.Argv}: the method runs a command, and the ACL checks it. */
  readonly data: DataShape;
  /**
   * The method of the message sent back with the output, for Event methods
   * that answer with a new message (seed: CLICommandRequest → CLICommandReply).
   * @defaultValue no reply message
   */
  readonly replyMethod?: string;
  /** The smallest number of `data` (`methodArgs`) elements, and what they are, for the error message. */
  readonly args?: { readonly min: number; readonly usage: string };
  /** Which nodes accept (subscribe to) the method. @defaultValue every node */
  readonly acceptedBy?: AcceptedBy;
  /** The name of the same method in the other generation of steward (seed ↔ mature), for the manual. */
  readonly sameAs?: string;
  /**
   * The method is only ever an answer: a node accepts it only as the reply to
   * a request it sent itself (see the reply guard), never as a request of its
   * own, whoever signed it. @defaultValue false
   */
  readonly onlyAsReply?: boolean;
  /**
   * A request of this method may be answered by several reply messages
   * (streams, copies); other requests take one reply. A request with a
   * `schedule` always may. @defaultValue false
   */
  readonly manyReplies?: boolean;
  /**
   * An error report. A failure to deliver or run one is only logged where it
   * happens, never sent on as another error report (which could loop); central
   * counts the ones it takes (`steward_error_messages_received_total`); and
   * one sent to central needs no ACL rule. @defaultValue false
   */
  readonly errorReport?: boolean;
  /**
   * A liveness message, sent by every node every few seconds: one sent to
   * central needs no ACL rule, its runs are logged at debug level, and
   * `steward jobs` leaves it out unless asked. @defaultValue false
   */
  readonly liveness?: boolean;
  /**
   * Its data may carry the sender's public key (`publicKey=...`): at central, a
   * message that carries one must be signed with that key, and the key is
   * recorded as offered for the operator to approve (`steward keys`), instead
   * of the signature being checked against an approved key. @defaultValue false
   */
  readonly offersKey?: boolean;
  /**
   * A piece of a field too big for one broker message (see
   * chunkedPayload.ts): the receiver stores it under the whole it belongs
   * to, never chunks it again, and takes it without an ACL rule when it
   * names a request of the receiver's that went to its sender (like a
   * reply). @defaultValue false
   */
  readonly chunk?: boolean;
  /** As a message's `replyMethod`, it means "send no reply". @defaultValue false */
  readonly meansNoReply?: boolean;
  /** What it does, one line of markdown, for the manual's method table. */
  readonly summary: string;
  /**
   * How the manual's method table describes `data`, when {@link MethodInfo.data}
   * does not say it all (the arguments a method reads, or that it reads none).
   * @defaultValue `argv` or `text`, from {@link MethodInfo.data}
   */
  readonly dataDoc?: string;
}

/**
 * The rows. The seed's methods (early 2021) first, then the mature
 * steward's `REQ…` methods (2021–2023); where both generations name the same
 * thing, the names share a handler.
 */
const rows = [
  {
    name: 'CLICommand',
    defaultKind: 'CommandACK',
    ordered: true,
    data: DataShape.Argv,
    summary: 'Runs a command. The output comes back in the ACK and is stored at the sender.',
  },
  {
    name: 'CLICommandRequest',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Argv,
    replyMethod: 'CLICommandReply',
    sameAs: 'REQCliCommand',
    summary: 'Runs a command. ACK on receipt. The output is sent back as a `CLICommandReply` message.',
  },
  {
    name: 'CLICommandRequestNOSEQ',
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Argv,
    replyMethod: 'CLICommandReply',
    summary: 'Like `CLICommandRequest`, but messages run concurrently.',
  },
  {
    name: 'CLICommandReply',
    onlyAsReply: true,
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'The output of a request, appended to a file at the requester.',
  },
  {
    name: 'TextLogging',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    sameAs: 'REQToFileAppend',
    summary: 'Appends the text to a file named by subject and sender, on the receiver.',
  },
  {
    name: 'SayHello',
    defaultKind: 'EventNACK',
    ordered: false,
    data: DataShape.Text,
    acceptedBy: AcceptedBy.Central,
    liveness: true,
    offersKey: true,
    sameAs: 'REQHello',
    summary: '"I am here", with the sender\'s public key. Central records it in its `nodes` table.',
  },
  {
    name: 'ErrorLog',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    acceptedBy: AcceptedBy.ErrorLogger,
    errorReport: true,
    sameAs: 'REQErrorLog',
    summary: "An error report, appended to the error logger's `<dataFolder>/errorLog.log`.",
  },
  {
    name: 'ECHORequest',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    replyMethod: 'ECHOReply',
    summary: 'Asks the receiver to send the data back as an `ECHOReply` message.',
  },
  {
    name: 'ECHOReply',
    onlyAsReply: true,
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'The answer to an `ECHORequest`, appended to a file at the requester.',
  },
  {
    name: 'REQCliCommand',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Argv,
    replyMethod: 'REQToFileAppend',
    sameAs: 'CLICommandRequest',
    summary: 'Runs `methodArgs[0]` with `methodArgs[1:]`; ACK on receipt, the output goes to the `replyMethod`.',
  },
  {
    name: 'REQCliCommandCont',
    manyReplies: true,
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Argv,
    replyMethod: 'REQToFileAppend',
    summary: 'Runs a command and sends each output line back as its own reply, until it ends or `methodTimeout` kills it.',
  },
  {
    name: 'REQTailFile',
    manyReplies: true,
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    args: { min: 1, usage: 'the file to follow as methodArgs[0], e.g. ["/var/log/syslog"]' },
    dataDoc: '`[path]`',
    summary: 'Follows a file from its end and sends each new line back, until `methodTimeout`.',
  },
  {
    name: 'REQHttpGet',
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    args: { min: 1, usage: 'the URL as methodArgs[0], e.g. ["http://127.0.0.1:8080/health"]' },
    dataDoc: '`[url]`',
    summary: 'GETs `methodArgs[0]` and sends the body back; a status other than 2xx is a failure.',
  },
  {
    name: 'REQToFileAppend',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    sameAs: 'TextLogging',
    summary: 'Appends the data to `<dataFolder>/<directory>/<fromNode>/<fileName>`.',
  },
  {
    name: 'REQToFile',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'Writes the data to `<dataFolder>/<directory>/<fromNode>/<fileName>`, replacing the file.',
  },
  {
    name: 'REQToConsole',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'Prints the data on the node\'s stdout (stderr when the reply method\'s args are `["stderr"]`).',
  },
  {
    name: 'REQNone',
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Text,
    meansNoReply: true,
    dataDoc: '—',
    summary: 'Does nothing; as a `replyMethod`: send no reply.',
  },
  {
    name: 'REQHello',
    defaultKind: 'EventNACK',
    ordered: false,
    data: DataShape.Text,
    acceptedBy: AcceptedBy.Central,
    liveness: true,
    sameAs: 'SayHello',
    summary: '"I am here"; the central node records the node in its `nodes` table.',
  },
  {
    name: 'REQErrorLog',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    acceptedBy: AcceptedBy.ErrorLogger,
    errorReport: true,
    sameAs: 'ErrorLog',
    summary: "An error report, appended to the error logger's `<dataFolder>/errorLog.log`.",
  },
  {
    name: 'REQPing',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    replyMethod: 'REQPong',
    dataDoc: '—',
    summary: 'Liveness check: the receiver records the ping and answers with `REQPong`.',
  },
  {
    name: 'REQPong',
    onlyAsReply: true,
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'The answer to `REQPing`, which the pinging node records in a file.',
  },
  {
    name: 'REQOpProcessList',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    dataDoc: '—',
    summary: "Lists the node's supervised processes (subscribers, publishers, inputs) and their state.",
  },
  {
    name: 'REQOpProcessStart',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    args: { min: 1, usage: 'the process as methodArgs[0], e.g. ["subscribers/REQHttpGet"] or ["inputs/readFolder"]' },
    dataDoc: '`[process]`',
    summary: "Starts one of the node's processes: a method subscriber or an input.",
  },
  {
    name: 'REQOpProcessStop',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    args: { min: 1, usage: 'the process as methodArgs[0], e.g. ["subscribers/REQHttpGet"]' },
    dataDoc: '`[process]`',
    summary: "Stops one of the node's processes; it stays stopped until `REQOpProcessStart` or a restart.",
  },
  {
    name: 'REQCopySrc',
    manyReplies: true,
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    args: {
      min: 3,
      usage:
        '[srcPath, dstNode, dstPath, chunkSize?, maxTotalSeconds?, folderPerm?], e.g. ["./file","ship1","./file-copy","500000","60","0770"]',
    },
    dataDoc: '`[src, dstNode, dstPath, chunkSize?, maxTotalSeconds?, folderPerm?]`',
    summary: 'Copies a file of this node to another node in SHA-256 checked chunks; resumable; verified at the end.',
  },
  {
    name: 'REQCopyDst',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    dataDoc: '(sent by nodes)',
    summary: 'One chunk (or the final check) of a copy started by `REQCopySrc`.',
  },
  {
    name: 'Chunk',
    chunk: true,
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Text,
    args: { min: 2, usage: '[header, base64 slice] (sent by nodes)' },
    dataDoc: '`[header, slice]` (sent by nodes)',
    summary:
      'One SHA-256 checked piece of a field too big for one broker message (an output, a reply); the receiver takes the whole once every piece is here.',
  },
  {
    name: 'Cancel',
    defaultKind: 'CommandACK',
    ordered: false,
    data: DataShape.Text,
    args: { min: 1, usage: '[id, ...]: ids of messages the sender sent to this node' },
    dataDoc: '`[id, ...]` (sent by `steward cancel`)',
    summary:
      'Cancels messages its sender sent to this node: a running one is stopped (its process tree killed), a queued one never runs, one not received yet is refused when it comes. Only the sender of a message may cancel it.',
  },
] as const satisfies readonly MethodInfo[];

/** The name of a method, as written in messages: one of the rows. */
export type MethodName = (typeof rows)[number]['name'];

/** Every method, in the order of the rows. */
export const methodRows: readonly (MethodInfo & { readonly name: MethodName })[] = rows;

/** Every method, by name. */
export const methodCatalog: ReadonlyMap<string, MethodInfo> = new Map(rows.map((r) => [r.name, r]));

/** The method's facts, or `undefined` for an unknown name. */
export function methodInfo(name: string): MethodInfo | undefined {
  return methodCatalog.get(name);
}

/** Whether `name` is a method of the table. */
export function isMethodName(name: string): name is MethodName {
  return methodCatalog.has(name);
}

/** The names of the methods whose row has `property` set, in the order of the rows (e.g. the liveness methods). */
export function methodsWhere(property: 'errorReport' | 'liveness' | 'offersKey' | 'meansNoReply'): MethodName[] {
  return rows.filter((r: MethodInfo) => r[property] === true).map((r) => r.name);
}

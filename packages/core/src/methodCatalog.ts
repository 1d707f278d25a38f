/**
 * The catalogue of methods a message can name: one row per method. The node
 * package binds a handler to each row; validation and subjects use only the
 * facts here, so adding a method is adding one row and one handler file.
 */
import type { MessageKind } from './messageKind.js';

/** How a method reads the message's `data` array. */
export const DataShape = {
  /** A command: `data[0]` is the program, the rest its arguments. Must be non-empty. */
  Argv: 'argv',
  /** Free text: the elements are written or echoed as they are. */
  Text: 'text',
} as const;
/** How a method reads the message's `data` array. */
export type DataShape = (typeof DataShape)[keyof typeof DataShape];

/** The facts about one method that every node agrees on. */
export interface MethodInfo {
  /** The method's name as written in messages (case sensitive). */
  name: string;
  /** The kind used when a message does not say `commandOrEvent`. */
  defaultKind: MessageKind;
  /**
   * Whether messages on one subject are executed in the order they were sent.
   * `false` only for the `...NOSEQ` methods, which run concurrently.
   */
  ordered: boolean;
  /** How `data` is read. */
  data: DataShape;
  /**
   * The method of the message sent back with the output, for Event methods
   * that answer with a new message (seed: CLICommandRequest → CLICommandReply).
   */
  replyMethod?: string;
  /** The smallest number of `data` (`methodArgs`) elements, and what they are, for the error message. */
  args?: { min: number; usage: string };
  /** Only some nodes accept the method: the node named `--centralNodeName`, or the `--centralErrorLogger`. */
  acceptedBy?: 'central' | 'errorLogger';
  /** The name of the same method in the other generation of steward (seed ↔ mature), for the manual. */
  sameAs?: string;
  /**
   * The method is only ever an answer: a node accepts it only as the reply to
   * a request it sent itself (see the reply guard), never as a request of its
   * own, whoever signed it. @defaultValue false
   */
  onlyAsReply?: boolean;
  /**
   * A request of this method may be answered by several reply messages
   * (streams, copies); other requests take one reply. A request with a
   * `schedule` always may. @defaultValue false
   */
  manyReplies?: boolean;
  /** One line for `--help` and the manual. */
  summary: string;
}

const rows: MethodInfo[] = [
  {
    name: 'CLICommand',
    defaultKind: 'CommandACK',
    ordered: true,
    data: DataShape.Argv,
    summary: 'run a command; its output comes back in the ACK and is stored at the sender',
  },
  {
    name: 'CLICommandRequest',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Argv,
    replyMethod: 'CLICommandReply',
    summary: 'run a command; ACK on receipt, output sent back as a CLICommandReply message',
  },
  {
    name: 'CLICommandRequestNOSEQ',
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Argv,
    replyMethod: 'CLICommandReply',
    summary: 'like CLICommandRequest, but messages run concurrently, not in order',
  },
  {
    name: 'CLICommandReply',
    onlyAsReply: true,
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'the output of a CLICommandRequest, written to a file at the requester',
  },
  {
    name: 'TextLogging',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'append the text to a file named by subject and sender on the receiver',
  },
  {
    name: 'SayHello',
    defaultKind: 'EventNACK',
    ordered: false,
    data: DataShape.Text,
    acceptedBy: 'central',
    sameAs: 'REQHello',
    summary: 'periodic "I am here"; the central node records who is alive',
  },
  {
    name: 'ErrorLog',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    acceptedBy: 'errorLogger',
    sameAs: 'REQErrorLog',
    summary: "an error report, appended to the central error logger's error log",
  },
  {
    name: 'ECHORequest',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    replyMethod: 'ECHOReply',
    summary: 'ask the receiver to send the data back as an ECHOReply message',
  },
  {
    name: 'ECHOReply',
    onlyAsReply: true,
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'the answer to an ECHORequest, written to a file at the requester',
  },
  // The mature steward's methods. Their replies go to `replyMethod` (default REQToFileAppend).
  {
    name: 'REQCliCommand',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Argv,
    replyMethod: 'REQToFileAppend',
    sameAs: 'CLICommandRequest',
    summary: 'run methodArgs[0] with methodArgs[1:]; ACK on receipt, the output goes to the replyMethod',
  },
  {
    name: 'REQCliCommandCont',
    manyReplies: true,
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Argv,
    replyMethod: 'REQToFileAppend',
    summary: 'run a command and send each output line back as its own reply, until it ends or methodTimeout kills it',
  },
  {
    name: 'REQTailFile',
    manyReplies: true,
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    args: { min: 1, usage: 'the file to follow as methodArgs[0], e.g. ["/var/log/syslog"]' },
    summary: 'follow a file from its end and send each new line back, until methodTimeout',
  },
  {
    name: 'REQHttpGet',
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    args: { min: 1, usage: 'the URL as methodArgs[0], e.g. ["http://127.0.0.1:8080/health"]' },
    summary: 'GET methodArgs[0] and send the body back; a status other than 2xx is a failure',
  },
  {
    name: 'REQToFileAppend',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    sameAs: 'TextLogging',
    summary: 'append the data to <dataFolder>/<directory>/<fromNode>/<fileName>',
  },
  {
    name: 'REQToFile',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'write the data to <dataFolder>/<directory>/<fromNode>/<fileName>, replacing the file',
  },
  {
    name: 'REQToConsole',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'print the data on the node\'s stdout (stderr when the reply method\'s args are ["stderr"])',
  },
  {
    name: 'REQNone',
    defaultKind: 'EventACK',
    ordered: false,
    data: DataShape.Text,
    summary: 'do nothing; as a replyMethod: send no reply',
  },
  {
    name: 'REQHello',
    defaultKind: 'EventNACK',
    ordered: false,
    data: DataShape.Text,
    acceptedBy: 'central',
    sameAs: 'SayHello',
    summary: '"I am here"; the central node records the node in its nodes table',
  },
  {
    name: 'REQErrorLog',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    acceptedBy: 'errorLogger',
    sameAs: 'ErrorLog',
    summary: "an error report, appended to the central error logger's error log",
  },
  {
    name: 'REQPing',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    replyMethod: 'REQPong',
    summary: 'liveness check: the receiver records the ping and answers with REQPong',
  },
  {
    name: 'REQPong',
    onlyAsReply: true,
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'the answer to REQPing, recorded in a file at the pinging node',
  },
  {
    name: 'REQOpProcessList',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    summary: "list the node's supervised processes (subscribers, publishers, inputs) and their state",
  },
  {
    name: 'REQOpProcessStart',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    args: { min: 1, usage: 'the process as methodArgs[0], e.g. ["subscribers/REQHttpGet"] or ["inputs/readFolder"]' },
    summary: "start one of the node's processes: a method subscriber or an input",
  },
  {
    name: 'REQOpProcessStop',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    replyMethod: 'REQToFileAppend',
    args: { min: 1, usage: 'the process as methodArgs[0], e.g. ["subscribers/REQHttpGet"]' },
    summary: "stop one of the node's processes (it stays stopped until REQOpProcessStart or a restart)",
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
    summary: 'copy a file of this node to another node in SHA-256 checked chunks; resumable; verified at the end',
  },
  {
    name: 'REQCopyDst',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'one chunk (or the final check) of a copy started by REQCopySrc; sent by nodes, not by people',
  },
];

/** Every method, by name. */
export const methodCatalog: ReadonlyMap<string, MethodInfo> = new Map(rows.map((r) => [r.name, r]));

/** The method's facts, or `undefined` for an unknown name. */
export function methodInfo(name: string): MethodInfo | undefined {
  return methodCatalog.get(name);
}

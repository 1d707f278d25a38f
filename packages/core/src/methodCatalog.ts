/**
 * The catalogue of methods a message can name: one row per method. The node
 * package binds a handler to each row; validation and subjects use only the
 * facts here, so adding a method is adding one row and one handler file.
 */
import type { MessageKind } from './message.js';

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
    summary: 'periodic "I am here"; the central node records who is alive',
  },
  {
    name: 'ErrorLog',
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
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
    defaultKind: 'EventACK',
    ordered: true,
    data: DataShape.Text,
    summary: 'the answer to an ECHORequest, written to a file at the requester',
  },
];

/** Every method, by name. */
export const methodCatalog: ReadonlyMap<string, MethodInfo> = new Map(rows.map((r) => [r.name, r]));

/** The method's facts, or `undefined` for an unknown name. */
export function methodInfo(name: string): MethodInfo | undefined {
  return methodCatalog.get(name);
}

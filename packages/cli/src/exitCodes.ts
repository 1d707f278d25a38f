/**
 * Exit codes of the client commands (`steward send`, `status`, `jobs`,
 * `nodes`). Scripts depend on them: they are part of the interface.
 */
export const ExitCode = {
  /** Every message succeeded (or the lookup found what was asked). */
  Ok: 0,
  /** The command failed on the node (its exit code is printed); `status`: no such message. */
  Failed: 1,
  /** Rejected input or usage: nothing was sent. */
  Usage: 2,
  /** Delivery expired, or no reply came: the node is unreachable. */
  Unreachable: 3,
  /** No local steward node could be reached over its socket. */
  NoLocalNode: 4,
  /** Several messages, with mixed outcomes (some ok, some failed or unreachable). */
  Partial: 5,
  /** Interrupted by Ctrl-C (SIGINT); the messages already accepted are still delivered. */
  Interrupted: 130,
} as const;
/** Exit codes of the client commands. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Errors of the command line. Each maps to one documented exit code, so the
 * commands can turn any failure into the right code in one place.
 */
import { StewardError } from '@steward/core';
import { ExitCode } from './exitCodes.js';

/** The command line or its input is wrong; nothing was sent. Exit code 2. */
export class UsageError extends StewardError {
  readonly exitCode = ExitCode.Usage;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** No local node could be reached over its socket (missing, refused, not ours). Exit code 4. */
export class NoLocalNodeError extends StewardError {
  readonly exitCode = ExitCode.NoLocalNode;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NoLocalNodeError';
  }
}

/** The connection to the local node ended before the answer came (the node stopped). Exit code 4. */
export class ConnectionLostError extends StewardError {
  readonly exitCode = ExitCode.NoLocalNode;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConnectionLostError';
  }
}

/** The local node answered with an error it is not the caller's fault for (journal failure). Exit code 1. */
export class NodeFailedError extends StewardError {
  readonly exitCode = ExitCode.Failed;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NodeFailedError';
  }
}

/** The exit code for an error thrown by a client command. */
export function exitCodeOfError(err: unknown): number {
  if (err instanceof UsageError || err instanceof NoLocalNodeError || err instanceof ConnectionLostError || err instanceof NodeFailedError)
    return err.exitCode;
  return ExitCode.Failed;
}

/**
 * Errors of the node runtime. Named classes so callers can test with
 * `instanceof`; the underlying error is kept as `cause`.
 */
import { StewardError } from '@steward/core';

/** nats-server is needed (no broker given, none running) but not installed. */
export class BrokerNotInstalledError extends StewardError {
  constructor(options?: ErrorOptions) {
    super(
      'nats-server is not installed and no broker is running on 127.0.0.1:4222. ' +
        'Install it with `sudo apt-get install nats-server`, or point the node at a broker with --brokerAddress host:port',
      options,
    );
    this.name = 'BrokerNotInstalledError';
  }
}

/** The local nats-server this node started has exited. */
export class BrokerExitedError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BrokerExitedError';
  }
}

/** The program in `argv[0]` of a command does not exist (ENOENT). */
export class CommandNotFoundError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CommandNotFoundError';
  }
}

/**
 * A command exists but could not be started: not executable, a missing
 * working directory, a missing script interpreter, invalid arguments.
 */
export class CommandStartError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CommandStartError';
  }
}

/** A configuration value is wrong; the message names the option. */
export class ConfigError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** A page of the docs lacks the markers of a block generated from the configuration schema. */
export class FlagDocMarkerError extends StewardError {
  constructor(block: string, options?: ErrorOptions) {
    super(`no <!-- ${block}:begin --> ... <!-- ${block}:end --> markers`, options);
    this.name = 'FlagDocMarkerError';
  }
}

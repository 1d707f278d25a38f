/** Errors of the security module. */
import { StewardError } from '@steward/core';

/** A key, certificate or credentials file could not be read or is not valid. */
export class ConfigFileError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigFileError';
  }
}

/** A key set from central does not verify, or is older than the one held. */
export class KeySetError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KeySetError';
  }
}

/**
 * An operator's key decision that names no key, or a key the node did not
 * offer (a swapped or mistyped fingerprint): nothing was approved.
 */
export class KeyApprovalError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KeyApprovalError';
  }
}

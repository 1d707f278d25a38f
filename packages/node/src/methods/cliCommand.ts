/**
 * CLICommand, CLICommandRequest, CLICommandRequestNOSEQ: run `data` as an
 * argv (no shell unless the user names one) in the node's folder. Success is
 * exit code 0. On methodTimeout the abort signal kills the whole process tree.
 */
import { runCommand } from '../commandRunner.js';
import type { MethodHandler } from './types.js';

/** Runs the command. Not idempotent: an interrupted run is reported, not repeated. */
export const cliCommand: MethodHandler = {
  async run({ services, message, signal }) {
    const result = await runCommand({ argv: message.data, cwd: services.config.nodeFolder, signal });
    const ok = result.exitCode === 0 && !result.killed;
    const outcome = { ok, output: result.output, exitCode: result.exitCode };
    if (ok) return outcome;
    const why = result.killed
      ? `killed${result.signal ? ` by ${result.signal}` : ''}`
      : result.exitCode === null
        ? `terminated by signal ${result.signal}`
        : `exit code ${result.exitCode}`;
    return { ...outcome, error: `${message.data.join(' ')}: ${why}` };
  },
};

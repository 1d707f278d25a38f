/**
 * CLICommand, CLICommandRequest, CLICommandRequestNOSEQ, REQCliCommand: run
 * `data` (`methodArgs`) as an argv (no shell unless the user names one) in
 * the node's folder. Success is exit code 0. On methodTimeout the abort
 * signal kills the whole process tree. `pty: true` runs it in a
 * pseudo-terminal. Output is reported as it comes, so a run stopped by
 * methodTimeout still answers with what it printed. As a reply method it gets the request's output in
 * `STEWARD_DATA` (see commandInput.ts).
 */
import { runCommand } from '../execution/commandRunner.js';
import { commandInput, failureText } from './commandInput.js';
import { runInPty } from './ptyRunner.js';
import type { MethodHandler } from './types.js';

/** Runs the command. Not idempotent: an interrupted run is reported, not repeated. */
export const cliCommand: MethodHandler = {
  async run({ services, message, signal, onOutput }) {
    const { argv, env } = commandInput(message);
    const cwd = services.config.nodeFolder;
    const opts = { argv, cwd, env, signal, ...(onOutput ? { onOutput } : {}) };
    const result = message.pty ? await runInPty(opts) : await runCommand(opts);
    const ok = result.exitCode === 0 && !result.killed;
    const outcome = { ok, output: result.output, exitCode: result.exitCode };
    if (ok) return outcome;
    return { ...outcome, error: failureText(argv, result) };
  },
};

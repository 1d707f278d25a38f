/**
 * REQCliCommandCont: run a command and send each line of its output back as
 * a reply message of its own, in order, while it runs. At `methodTimeout`
 * the whole process tree is killed and the stream ends; that is the normal
 * end of a continuous command, not a failure. A command that ends by itself
 * with a non-zero exit code is a failure, answered with one last reply.
 */
import { runCommand } from '../execution/commandRunner.js';
import { commandInput, failureText } from './commandInput.js';
import { runInPty } from './ptyRunner.js';
import { lineSplitter, streamTimeLimit } from './lineStream.js';
import type { MethodHandler } from './types.js';

/** Streams the command's output, line by line. */
export const cliCommandCont: MethodHandler = {
  replyOnSuccess: false,
  timeLimitMs: streamTimeLimit,
  async run({ services, message, signal, emit }) {
    const { argv, env } = commandInput(message);
    const cwd = services.config.nodeFolder;
    const lines = lineSplitter(emit);
    const timeoutMs = message.methodTimeout < 0 ? undefined : message.methodTimeout * 1000;
    const common = { argv, cwd, env, signal, onOutput: (chunk: string) => lines.push(chunk), ...(timeoutMs ? { timeoutMs } : {}) };
    const result = message.pty ? await runInPty(common) : await runCommand(common);
    await lines.end();
    const ok = result.timedOut || (result.exitCode === 0 && !result.killed);
    const outcome = { ok, output: '', exitCode: result.exitCode };
    return ok ? outcome : { ...outcome, error: failureText(argv, result) };
  },
};

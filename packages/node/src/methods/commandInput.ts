/**
 * The command a message runs: its argv and environment. In a reply chain
 * (the message is a reply whose `data` came from `replyMethodArgs`),
 * `{{STEWARD_DATA}}` in the arguments becomes `$STEWARD_DATA` and the
 * request's output is put in the environment variable `STEWARD_DATA`, so a
 * shell expands it without the output ever being parsed as shell code. The
 * rest of the node's environment, `PATH` included, is kept (the mature
 * steward replaced the whole environment).
 */
import type { WireMessage } from '@steward/core';

/** The placeholder for the previous output in `replyMethodArgs`. */
const stewardDataPlaceholder = '{{STEWARD_DATA}}';

/** The argv and environment to run `m` with. */
export function commandInput(m: WireMessage): { argv: string[]; env: NodeJS.ProcessEnv } {
  if (m.previousOutput === undefined) return { argv: m.data, env: process.env };
  const argv = m.data.map((a) => a.split(stewardDataPlaceholder).join('$STEWARD_DATA'));
  return { argv, env: { ...process.env, STEWARD_DATA: m.previousOutput } };
}

/** Why a command did not succeed, in words. */
export function failureText(argv: string[], r: { killed: boolean; signal: string | null; exitCode: number | null }): string {
  const why = r.killed
    ? `killed${r.signal ? ` by ${r.signal}` : ''}`
    : r.exitCode === null
      ? `terminated by signal ${r.signal}`
      : `exit code ${r.exitCode}`;
  return `${argv.join(' ')}: ${why}`;
}

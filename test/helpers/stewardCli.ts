/**
 * The built `steward` CLI run as an operator runs it, for the client
 * commands (send, status, cancel, nodes, ...) of end-to-end tests.
 */
import { spawn } from 'node:child_process';

import { stewardBin } from './stewardNode.js';

/**
 * Environment for nodes and client commands that keep the socket in the
 * node's folder, whatever the developer's session has (no `XDG_RUNTIME_DIR`).
 */
export const folderSocketEnv = { XDG_RUNTIME_DIR: '' };

/** How a CLI run ended and what it printed. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `steward <args>` in `cwd` (a node folder: the CLI finds the node's
 * socket there, whatever the developer's XDG_RUNTIME_DIR is). Killed after
 * `timeoutMs`.
 */
export function runSteward(args: string[], cwd: string, timeoutMs = 120_000): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: '' };
  // Set by node:test; a CLI that inherits it would think it is a test runner child.
  delete env['NODE_TEST_CONTEXT'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [stewardBin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A CLI run in words, for assertion messages. */
export function showRun(r: CliRun): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

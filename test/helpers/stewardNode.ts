/**
 * A steward node run as a real child process (`steward start`), the way an
 * operator runs one, so end-to-end tests can feed it inmsg.txt, read its
 * data folder, and kill or restart it.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ChildRun, describeExit, startBanner, type ExitInfo } from './childRun.js';
import { ProcessStartError, WaitForTimeoutError } from './errors.js';
import { readFileOr, tailLines, waitFor } from './waitFor.js';

/** The repository root, two levels above this file (`test/helpers/`). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The steward CLI entry point that {@link startNode} runs. */
export const stewardBin = join(repoRoot, 'packages', 'cli', 'bin', 'steward.js');

/** How long a start may take until the node reports it is ready. */
const READY_TIMEOUT_MS = 30_000;
/** How long SIGTERM has before {@link NodeHandle.stop} sends SIGKILL. */
const STOP_GRACE_MS = 15_000;

/** Options of {@link startNode}. */
export interface StartNodeOptions {
  /** Node name (`--node`); make it unique per test. */
  name: string;
  /** The node's folder: its working directory, holding node.log, inmsg.txt and data/. Created when missing. */
  folder: string;
  /**
   * Broker address (`--brokerAddress`), e.g. a test server's `hostPort`.
   * @defaultValue omitted, so the node uses its own default
   */
  brokerHostPort?: string;
  /**
   * Run with the node's own security defaults (signature and ACL checks on).
   * @defaultValue false: both checks are turned off unless `args` name them
   */
  securityDefaults?: boolean;
  /**
   * Further CLI arguments, after the harness's own.
   * @defaultValue `[]`
   */
  args?: string[];
  /**
   * Variables added to the test process's environment.
   * @defaultValue `{}`
   */
  env?: Record<string, string>;
  /**
   * Script run with `node` instead of the steward CLI; only for testing the
   * harness itself with a stand-in node.
   * @defaultValue {@link stewardBin}
   * @internal
   */
  entry?: string;
}

/** A steward node started by {@link startNode}. */
export interface NodeHandle {
  /** Node name. */
  readonly name: string;
  /** The node's folder. */
  readonly folder: string;
  /** `<folder>/node.log`: stdout and stderr of every run, each after a `--- start <n> ---` line. */
  readonly logFile: string;
  /** Process id of the current run. */
  readonly pid: number;
  /** Whether the current run is alive. */
  readonly running: boolean;
  /** Resolves with how the current run ended. */
  readonly exited: Promise<ExitInfo>;
  /** The whole node.log, across runs; `''` before anything was written. */
  log(): string;
  /** SIGKILL and wait for the exit: a crash, with no chance to clean up. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit; SIGKILL after 15 s. Does nothing when already stopped. */
  stop(): Promise<void>;
  /** Stops the node if it runs, starts it again with the same arguments and waits until it is ready. */
  restart(): Promise<void>;
  /** Appends `text` to `<folder>/inmsg.txt`, as `cat >> inmsg.txt` would. Include the newline. */
  inmsg(text: string): Promise<void>;
  /** A path under `<folder>/data`. */
  dataFile(...parts: string[]): string;
}

const nodes = new Set<StewardNode>();

/**
 * `--enableSignatureCheck false` and `--enableAclCheck false`, each unless
 * `args` names it: a node runs with both checks on by default, and most
 * tests exercise the runtime without approving keys.
 */
function securityDefaults(args: readonly string[]): string[] {
  return ['--enableSignatureCheck', '--enableAclCheck'].flatMap((flag) =>
    args.some((a) => a === flag || a.startsWith(`${flag}=`)) ? [] : [flag, 'false'],
  );
}

/**
 * Runs `steward start --node <name> --brokerAddress <hostPort>
 * --promHostAndPort off --sayHelloInterval 0 ...args` in `folder` and
 * resolves once this run has logged `node <name> ready` (deadline 30 s).
 * Call {@link stopAll} in `after`.
 *
 * @throws {@link ProcessStartError} with the log's tail when the node exits
 *   or is not ready in time (it is killed then).
 */
export async function startNode(opts: StartNodeOptions): Promise<NodeHandle> {
  await mkdir(opts.folder, { recursive: true });
  const node = new StewardNode(opts);
  nodes.add(node);
  await node.launch();
  return node;
}

/** Kills (SIGKILL) every node started by {@link startNode} that still runs. */
export async function stopAll(): Promise<void> {
  const all = [...nodes];
  nodes.clear();
  await Promise.all(all.map((node) => node.kill9()));
}

class StewardNode implements NodeHandle {
  readonly name: string;
  readonly folder: string;
  readonly logFile: string;
  private readonly command: string[];
  private readonly env: NodeJS.ProcessEnv;
  private run: ChildRun | undefined;

  constructor(opts: StartNodeOptions) {
    this.name = opts.name;
    this.folder = opts.folder;
    this.logFile = join(opts.folder, 'node.log');
    this.command = [
      opts.entry ?? stewardBin,
      'start',
      '--node',
      opts.name,
      ...(opts.brokerHostPort === undefined ? [] : ['--brokerAddress', opts.brokerHostPort]),
      '--promHostAndPort',
      'off',
      '--sayHelloInterval',
      '0',
      // Secure by default: tests of the bare runtime turn the checks off, tests of security name them.
      ...(opts.securityDefaults ? [] : securityDefaults(opts.args ?? [])),
      ...(opts.args ?? []),
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    // Set by node:test in test files; a node that inherits it would think it is a test runner child.
    delete env['NODE_TEST_CONTEXT'];
    this.env = env;
  }

  get pid(): number {
    return this.run?.pid ?? 0;
  }
  get running(): boolean {
    return this.run?.running ?? false;
  }
  get exited(): Promise<ExitInfo> {
    return this.run?.exited ?? Promise.resolve({ code: null, signal: null });
  }

  log(): string {
    return readFileOr(this.logFile);
  }

  async kill9(): Promise<void> {
    await this.run?.kill9();
  }

  async stop(): Promise<void> {
    await this.run?.terminate(STOP_GRACE_MS);
  }

  async restart(): Promise<void> {
    await this.stop();
    nodes.add(this);
    await this.launch();
  }

  inmsg(text: string): Promise<void> {
    return appendFile(join(this.folder, 'inmsg.txt'), text);
  }

  dataFile(...parts: string[]): string {
    return join(this.folder, 'data', ...parts);
  }

  /** Starts a run and waits for its ready line; kills it when that does not come. */
  async launch(): Promise<void> {
    const run = ChildRun.start({
      command: process.execPath,
      args: this.command,
      logFile: this.logFile,
      banner: startBanner(this.logFile),
      cwd: this.folder,
      env: this.env,
    });
    this.run = run;
    // Only this run's output counts, so a restart waits for a new ready line.
    const readyLine = `node ${this.name} ready`;
    let outcome: ExitInfo | 'ready';
    try {
      outcome = await waitFor(() => run.exit ?? (run.output().includes(readyLine) && 'ready'), {
        timeoutMs: READY_TIMEOUT_MS,
        message: () =>
          `node ${this.name} did not log "${readyLine}" within ${READY_TIMEOUT_MS} ms; ` +
          `${this.logFile} since this start:\n${tailLines(run.output())}`,
      });
    } catch (error) {
      await run.kill9();
      throw error instanceof WaitForTimeoutError ? new ProcessStartError(error.message, { cause: error }) : error;
    }
    if (outcome !== 'ready') {
      throw new ProcessStartError(
        `node ${this.name} exited before it was ready (${describeExit(outcome)}); ` +
          `${this.logFile} since this start:\n${tailLines(run.output())}`,
        { cause: outcome.error },
      );
    }
  }
}

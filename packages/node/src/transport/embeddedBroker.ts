/**
 * The local nats-server a node starts when it is given no broker and none
 * runs on 127.0.0.1:4222.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BrokerExitedError, BrokerNotInstalledError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { defaultBrokerHostPort, findExecutable, isListening, splitHostPort } from './brokerAddress.js';

/**
 * A nats-server child process on 127.0.0.1:4222, run by this node. Its log
 * goes to `logFile`. `onExit` is called when it exits unexpectedly, so the
 * supervisor can restart it.
 */
export class EmbeddedBroker {
  private child?: ChildProcess;
  private stopping = false;

  /**
   * `configText`: the nats-server configuration, written next to the log
   * file (mode 0600: it holds the broker's password) and passed with `-c`.
   * @defaultValue none: `-a 127.0.0.1 -p 4222`, no authentication
   */
  constructor(
    private readonly logFile: string,
    private readonly log: Logger,
    private readonly configText?: string,
  ) {}

  /**
   * Starts nats-server and waits until it accepts connections.
   *
   * @throws {@link BrokerNotInstalledError} when nats-server is not installed.
   */
  async start(onExit: (err: Error) => void): Promise<void> {
    const bin = findExecutable('nats-server');
    if (!bin) throw new BrokerNotInstalledError();
    mkdirSync(dirname(this.logFile), { recursive: true });
    const fd = openSync(this.logFile, 'a');
    const [host, port] = splitHostPort(defaultBrokerHostPort);
    let args = ['-a', host, '-p', port];
    if (this.configText !== undefined) {
      const conf = join(dirname(this.logFile), 'nats-server.conf');
      writeFileSync(conf, this.configText, { mode: 0o600 });
      chmodSync(conf, 0o600);
      args = ['-c', conf];
    }
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      onExit(new BrokerExitedError(`local nats-server exited (code ${code}, signal ${signal}); see ${this.logFile}`));
    });
    child.once('error', (err) => onExit(new BrokerExitedError(`local nats-server failed: ${err.message}`, { cause: err })));
    const deadline = Date.now() + 10_000;
    while (!(await isListening(defaultBrokerHostPort, 500))) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new BrokerExitedError(`local nats-server did not start; see ${this.logFile}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    this.log.info(`started local nats-server on ${defaultBrokerHostPort}`, { pid: child.pid, logFile: this.logFile });
  }

  /** Stops the server. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

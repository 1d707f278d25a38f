/**
 * `steward demo`: the quickstart. Starts a nats-server on a free port and two
 * nodes, `central` and `ship1`, each in its own folder, drops the seed's
 * example messages into central's inmsg.txt, waits for the answers and
 * prints them. Everything it starts is stopped before it returns.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerNotInstalledError, findExecutable, isListening } from '@steward/node';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'steward.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function read(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Runs the demo; resolves with the exit code. */
export async function runDemo(opts: { keep: boolean }): Promise<number> {
  const natsBin = findExecutable('nats-server');
  if (!natsBin) {
    console.error(new BrokerNotInstalledError().message);
    return 1;
  }
  const base = mkdtempSync(join(tmpdir(), 'steward-demo-'));
  const procs: ChildProcess[] = [];
  const say = (s: string) => console.log(s);
  try {
    const port = await freePort();
    const broker = spawn(natsBin, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    procs.push(broker);
    await waitFor('nats-server', () => (broker.exitCode === null ? true : undefined), 1000);
    const deadline = Date.now() + 10_000;
    while (!(await isListening(`127.0.0.1:${port}`, 300))) {
      if (Date.now() > deadline || broker.exitCode !== null) throw new Error('nats-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    say(`broker:  nats-server on 127.0.0.1:${port}`);
    // Both nodes start at once; each waits only for its own "ready" line.
    const startNode = async (name: string): Promise<void> => {
      const folder = join(base, name);
      mkdirSync(folder, { recursive: true });
      const args = [
        bin,
        'start',
        '--node',
        name,
        '--brokerAddress',
        `127.0.0.1:${port}`,
        '--promHostAndPort',
        'off',
        '--sayHelloInterval',
        '1',
        '--keysPushInterval',
        '1',
      ];
      if (name === 'central') args.push('--centralErrorLogger');
      const log = join(folder, 'node.log');
      const child = spawn(process.execPath, args, { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (b: Buffer) => appendFileSync(log, b));
      child.stderr.on('data', (b: Buffer) => appendFileSync(log, b));
      procs.push(child);
      await waitFor(`node ${name} to be ready (see ${log})`, () => (read(log).includes(`node ${name} ready`) ? true : undefined), 30_000);
      say(`node:    ${name} in ${folder}`);
    };
    await Promise.all(['central', 'ship1'].map(startNode));
    // Secure by default: central runs only what ship1 signed with an approved key. An operator compares
    // the key with `steward keys show` on the ship; the demo has both folders at hand.
    const cli = (...args: string[]) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8' }).trim();
    const shipKey = cli('keys', 'show', '--nodeFolder', join(base, 'ship1'));
    say(`\napproving ship1's key at central: steward keys allow ship1 <key of ship1>`);
    say(cli('keys', 'allow', 'ship1', shipKey, '--nodeFolder', join(base, 'central')));
    // ship1 trusts central's key set (first use) once it holds ship1's own key too.
    await waitFor(
      "ship1 to adopt central's key set",
      () => (/adopted key set version .*trusted=\S*ship1/.test(read(join(base, 'ship1', 'node.log'))) ? true : undefined),
      30_000,
    );
    const central = join(base, 'central');
    const messages = [
      {
        toNode: 'ship1',
        data: ['bash', '-c', 'echo "hello from $(hostname), where steward runs as ship1"; uptime'],
        commandOrEvent: 'CommandACK',
        method: 'CLICommand',
      },
      { toNode: 'central', data: ['some message sent from a ship for testing\n'], commandOrEvent: 'EventACK', method: 'TextLogging' },
    ];
    say(`\nappending to ${join(central, 'inmsg.txt')}:\n${JSON.stringify(messages, null, 2)}\n`);
    appendFileSync(join(central, 'inmsg.txt'), JSON.stringify(messages, null, 2) + '\n');
    const outFile = join(central, 'data', 'ship1', 'ship1.CommandACK.CLICommand.log');
    const output = await waitFor('the CLICommand output from ship1', () => read(outFile) || undefined, 30_000);
    say(`CLICommand output from ship1, stored by central in ${outFile}:\n${output}`);
    const textFile = join(central, 'data', 'central', 'central.EventACK.TextLogging.log');
    const text = await waitFor('the TextLogging file', () => read(textFile) || undefined, 30_000);
    say(`TextLogging written on central in ${textFile}:\n${text}`);
    say('the demo worked: both messages were delivered, ACKed and journaled.');
    return 0;
  } catch (err) {
    console.error(`steward demo failed: ${(err as Error).message}`);
    return 1;
  } finally {
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        // The grace timer is cleared once the process has exited: a pending one kept the demo alive 10 s longer.
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (grace = setTimeout(r, 10_000)))]);
        clearTimeout(grace);
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      }
    }
    if (opts.keep) say(`demo folders kept in ${base}`);
    else rmSync(base, { recursive: true, force: true });
  }
}

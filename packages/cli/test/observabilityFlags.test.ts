/**
 * The observability flags of `steward start`: --inspect, --inspectToken,
 * --inspectStately, --logFormat, and a flag given twice taking its last
 * value (the test harness adds `--promHostAndPort off` before a test's own).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yargs from 'yargs';
import { normalizeGoFlags } from '../src/argv.js';
import { startOptions, toInspectAddress, toNodeConfig } from '../src/startCommand.js';

async function config(argv: string[]) {
  return toNodeConfig(await startOptions(yargs(normalizeGoFlags(['--node', 'n1', ...argv]))).parseAsync());
}

describe('steward start observability flags', () => {
  it('reads --inspect: off by default, the flag alone is loopback port 2113, a bare port is loopback', async () => {
    assert.equal((await config([])).inspect, '');
    assert.equal((await config(['--inspect'])).inspect, '127.0.0.1:2113');
    assert.equal((await config(['--inspect', '--logLevel', 'debug'])).inspect, '127.0.0.1:2113');
    assert.equal((await config(['--inspect', '9000'])).inspect, '127.0.0.1:9000');
    assert.equal((await config(['--inspect', '0.0.0.0:9000', '--inspectToken', 't'])).inspectToken, 't');
    assert.equal((await config(['-inspect=:9001'])).inspect, '127.0.0.1:9001');
    assert.equal((await config(['--inspect', 'off'])).inspect, '');
    await assert.rejects(config(['--inspect', 'nonsense']), /--inspect must be \[host:\]port/);
    assert.equal(toInspectAddress('[::1]:2113'), '[::1]:2113');
    assert.equal(toInspectAddress('host:99999'), undefined);
  });

  it('reads --inspectStately: sky when alone, or a WebSocket URL', async () => {
    assert.equal((await config([])).inspectStately, '');
    assert.equal((await config(['--inspectStately'])).inspectStately, 'sky');
    assert.equal((await config(['--inspectStately', 'ws://127.0.0.1:8080'])).inspectStately, 'ws://127.0.0.1:8080');
    await assert.rejects(config(['--inspectStately', 'http://x']), /--inspectStately must be "sky" or a ws:\/\/ or wss:\/\/ URL/);
  });

  it('accepts --logFormat auto, and a flag given twice takes its last value', async () => {
    const a = await startOptions(yargs(['--node', 'n1', '--logFormat', 'auto'])).parseAsync();
    assert.equal(a.logFormat, 'auto');
    assert.equal((await config(['--promHostAndPort', 'off', '--promHostAndPort', '127.0.0.1:9100'])).promHostAndPort, '127.0.0.1:9100');
    assert.equal((await config(['--promHostAndPort', '127.0.0.1:9100', '--promHostAndPort', 'off'])).promHostAndPort, 'off');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yargs from 'yargs';
import { normalizeGoFlags } from '../src/argv.js';
import { startOptions, toNodeConfig } from '../src/startCommand.js';

async function parse(argv: string[]) {
  return startOptions(yargs(normalizeGoFlags(argv)).env('STEWARD')).parseAsync();
}

describe('steward start options', () => {
  it('accepts the seed Go-style one-dash flags unchanged', async () => {
    const a = await parse([
      '-node=ship1',
      '-brokerAddress',
      '127.0.0.1:4333',
      '-centralErrorLogger',
      '-defaultMessageTimeout=3',
      '-defaultMessageRetries',
      '5',
    ]);
    const c = toNodeConfig(a);
    assert.equal(c.node, 'ship1');
    assert.deepEqual(c.brokerAddresses, ['127.0.0.1:4333']);
    assert.equal(c.centralErrorLogger, true);
    assert.equal(c.defaultMessageTimeout, 3);
    assert.equal(c.defaultMessageRetries, 5);
  });

  it('accepts kebab-case spellings', async () => {
    const c = toNodeConfig(await parse(['--node', 'ship2', '--broker-address', 'a:1,b:2', '--default-message-retries', '-1']));
    assert.deepEqual(c.brokerAddresses, ['a:1', 'b:2']);
    assert.equal(c.defaultMessageRetries, -1);
  });

  it('reads options from STEWARD_ environment variables, flags win', async () => {
    process.env.STEWARD_NODE = 'fromenv';
    process.env.STEWARD_DEFAULT_MESSAGE_TIMEOUT = '7';
    try {
      const c = toNodeConfig(await parse(['--defaultMessageRetries', '2']));
      assert.equal(c.node, 'fromenv');
      assert.equal(c.defaultMessageTimeout, 7);
      const c2 = toNodeConfig(await parse(['--node', 'fromflag']));
      assert.equal(c2.node, 'fromflag');
    } finally {
      delete process.env.STEWARD_NODE;
      delete process.env.STEWARD_DEFAULT_MESSAGE_TIMEOUT;
    }
  });

  it('treats the seed default broker address "0" as not given', async () => {
    assert.deepEqual(toNodeConfig(await parse(['--node', 'x', '--brokerAddress', '0'])).brokerAddresses, []);
  });

  it('names every wrong option', async () => {
    assert.throws(
      () => toNodeConfig(startOptionsResult(['--node', '../etc', '--defaultMessageRetries', '-3'])),
      (err: Error) => err.message.includes('--node') && err.message.includes('--defaultMessageRetries'),
    );
  });

  it('requires --node', async () => {
    assert.throws(() => toNodeConfig(startOptionsResult([])), /--node is required/);
  });
});

function startOptionsResult(argv: string[]) {
  return startOptions(yargs(argv)).parseSync();
}

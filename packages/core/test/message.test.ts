import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ValidationError } from '../src/errors.js';
import { parseInmsg } from '../src/inmsgParser.js';
import { flatString, parseMessageSpec, parseWireMessage, subjectOf, toWireMessage } from '../src/message.js';

const examples = new URL('../../../examples/', import.meta.url);

function problems(raw: unknown): string[] {
  try {
    parseMessageSpec(raw);
    return [];
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err.problems.map((p) => p.field);
  }
}

describe('message validation', () => {
  it('accepts every example message file as it is', () => {
    const notMessages = new Set(['steward.json', 'grafana-dashboard.json']);
    const files = readdirSync(examples).filter((f) => f.endsWith('.json') && !notMessages.has(f));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const { entries, failures } = parseInmsg(readFileSync(join(examples.pathname, f), 'utf8'));
      assert.deepEqual(failures, [], f);
      for (const e of entries) parseMessageSpec(e.value);
    }
  });

  it('fills the kind from the method and builds the seed subject', () => {
    const { spec } = parseMessageSpec({ toNode: 'ship1', method: 'CLICommand', data: ['true'] });
    assert.equal(spec.commandOrEvent, 'CommandACK');
    assert.equal(subjectOf(spec), 'ship1.CommandACK.CLICommand');
  });

  it('names every wrong field at once', () => {
    assert.deepEqual(
      problems({ method: 'CLIComand', data: 'ls', timeout: 'x', retries: -5 }).sort(),
      ['data', 'method', 'retries', 'timeout', 'toNode'].sort(),
    );
  });

  it('refuses node names that could escape a folder or a subject', () => {
    for (const bad of ['../etc', 'a.b', 'a/b', 'ship*', '', 'x y', 'a\u0000'])
      assert.deepEqual(problems({ toNode: bad, method: 'TextLogging', data: [] }), ['toNode'], bad);
  });

  it('requires a non-empty argv for command methods, and strings only', () => {
    assert.deepEqual(problems({ toNode: 'a', method: 'CLICommand', data: [] }), ['data']);
    assert.deepEqual(problems({ toNode: 'a', method: 'CLICommand', data: ['ls', 3] }), ['data[1]']);
  });

  it('accepts methodArgs and ACKTimeout as aliases, and warns about unknown fields', () => {
    const { spec, warnings } = parseMessageSpec({ toNode: 'a', method: 'CLICommand', methodArgs: ['ls'], ACKTimeout: 4, colour: 'red' });
    assert.deepEqual(spec.data, ['ls']);
    assert.equal(spec.timeout, 4);
    assert.deepEqual(warnings, ['unknown field "colour" ignored']);
  });

  it('round-trips a wire message and refuses one without the sender fields', () => {
    const { spec } = parseMessageSpec({ toNode: 'ship1', method: 'TextLogging', data: ['x'] });
    const wire = toWireMessage(spec, { fromNode: 'central', id: 'id-1', now: 5 }, { timeout: 10, retries: 1, methodTimeout: 10 });
    assert.deepEqual(parseWireMessage(JSON.parse(JSON.stringify(wire))), wire);
    assert.throws(
      () => parseWireMessage({ ...spec }),
      (e: Error) => e instanceof ValidationError && /id/.test(e.message) && /fromNode/.test(e.message),
    );
  });

  it('writes the spec fields first, in their order, then the node fields, the given timeout and retries where the spec had them', () => {
    const { spec } = parseMessageSpec({ toNode: 'ship1', method: 'CLICommand', data: ['true'], retries: 4, timeout: 3, ttl: 60 });
    const wire = toWireMessage(spec, { fromNode: 'central', id: 'id-1', now: 5 }, { timeout: 10, retries: 1, methodTimeout: 10 });
    // The wire JSON is journaled and signed, so its key order is part of what a node writes.
    assert.equal(
      JSON.stringify(wire),
      '{"toNode":"ship1","method":"CLICommand","commandOrEvent":"CommandACK","data":["true"],"timeout":3,"retries":4,"ttl":60,' +
        '"id":"id-1","fromNode":"central","createdAt":5,"methodTimeout":10,"deadline":60005}',
    );
    assert.equal(Object.getPrototypeOf(wire), Object.prototype);
  });

  it('makes an id and a subject one flat string without changing them', () => {
    const pieces = ['a', 'b', 'c'].map((p) => p.repeat(20));
    const built = pieces[0]! + '.' + pieces[1]! + '.' + pieces[2]!;
    assert.equal(flatString(built), built);
    assert.equal(subjectOf({ toNode: 'ship1', commandOrEvent: 'CommandACK', method: 'CLICommand' }), 'ship1.CommandACK.CLICommand');
  });
});

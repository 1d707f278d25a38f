/**
 * ACL command patterns: `*` and `?` stay inside one argument and one path
 * component, `**` crosses `/` but not arguments, no wildcard matches an
 * argument with a `..` component, and argv is matched argument by argument
 * (issue 12, hole 7).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  aclInForce,
  aclRefusal,
  commandPatternMatches,
  emptyAcl,
  hasParentComponent,
  parseAcl,
  readAcl,
  splitCommandPattern,
  writeAcl,
} from '../src/security/acl.js';

const m = (pattern: string, ...argv: string[]) => commandPatternMatches(pattern, argv);

describe('ACL command patterns', () => {
  it('`*` matches within one argument and never across `/`', () => {
    assert.ok(m('cat /var/log/*', 'cat', '/var/log/syslog'));
    assert.ok(m('cat /var/log/*', 'cat', '/var/log/'));
    assert.ok(m('cat /var/log/*.log', 'cat', '/var/log/x.log'));
    assert.ok(!m('cat /var/log/*', 'cat', '/var/log/nginx/access.log'), 'no / inside *');
    assert.ok(!m('cat /var/log/*', 'cat', '/var/log/x', '/srv/node/state/keys/node.key'), 'no second argument');
    assert.ok(!m('cat /var/log/*', 'cat', '/var/log/x /etc/shadow'.split(' ')[0]!, '/etc/shadow'));
    assert.ok(!m('cat /var/log/*', 'cat'), 'too few arguments');
    assert.ok(m('cat /var/log/*', 'cat', '/var/log/x y'), 'one argument with a space is still one argument (cat opens "x y")');
  });

  it('no wildcard matches an argument holding a `..` component', () => {
    assert.ok(!m('cat /var/log/*', 'cat', '/var/log/..'));
    assert.ok(!m('cat /var/log/**', 'cat', '/var/log/../../srv/node/state/keys/node.key'));
    assert.ok(!m('cat /var/log/**', 'cat', '/var/log/a/../../../etc/shadow'));
    assert.ok(!m('ls --dir=*', 'ls', '--dir=..'));
    assert.ok(!m('bash -c **', 'bash', '-c', 'cat ../../x'));
    assert.ok(m('cat /var/log/**', 'cat', '/var/log/a..b/...'), '`a..b` and `...` are names, not the parent');
    assert.ok(hasParentComponent('..'));
    assert.ok(hasParentComponent('x/../y'));
    assert.ok(hasParentComponent('x:..'));
    assert.ok(!hasParentComponent('a..b'));
    assert.ok(!hasParentComponent('...'));
    assert.ok(!hasParentComponent('.hidden/..x'));
  });

  it('`?` is one character but not `/`; `**` crosses `/` within one argument', () => {
    assert.ok(m('cat /var/log/?.log', 'cat', '/var/log/a.log'));
    assert.ok(!m('cat /var/log/?.log', 'cat', '/var/log/ab.log'));
    assert.ok(!m('cat /var/log?x.log', 'cat', '/var/log/x.log'));
    assert.ok(m('cat /var/log/**', 'cat', '/var/log/nginx/access.log'));
    assert.ok(!m('cat /var/log/**', 'cat', '/var/log/a', '/etc/shadow'), '** never spans arguments');
    assert.ok(m('cat /var/log/***', 'cat', '/var/log/a/b'), 'three stars are **');
  });

  it('regular-expression characters in a pattern are literal', () => {
    assert.ok(m('grep -E a.b|c /var/log/*', 'grep', '-E', 'a.b|c', '/var/log/x'));
    assert.ok(!m('grep -E a.b|c /var/log/*', 'grep', '-E', 'axb|c', '/var/log/x'));
    assert.ok(m('echo (x)+[y]$ *', 'echo', '(x)+[y]$', 'z'));
  });

  it('quotes group an argument pattern that holds spaces', () => {
    assert.deepEqual(splitCommandPattern(`bash -c 'echo * >> /tmp/runs.txt'`), ['bash', '-c', 'echo * >> /tmp/runs.txt']);
    assert.deepEqual(splitCommandPattern(`a "b 'c" d`), ['a', "b 'c", 'd']);
    assert.equal(splitCommandPattern(`bash -c 'echo`), undefined);
    assert.ok(m(`bash -c 'echo * >> /tmp/runs.txt'`, 'bash', '-c', 'echo legit >> /tmp/runs.txt'));
    assert.ok(!m(`bash -c 'echo * >> /tmp/runs.txt'`, 'bash', '-c', 'echo a; cat /etc/shadow >> /tmp/runs.txt'), '* stops at /');
    assert.ok(!m(`bash -c 'echo'`, 'bash', '-c', 'echo', 'x'));
    assert.ok(m(`bash -c 'uptime'`, 'bash', '-c', 'uptime'), 'a quoted pattern without wildcards compares arguments');
    assert.ok(!m(`bash -c 'echo`, 'bash', '-c', 'echo'), 'an unclosed quote matches nothing');
  });

  it('`bash -c *` still lets the shell run anything in one argument', () => {
    assert.ok(m('bash -c *', 'bash', '-c', 'id; uname -a && rm -rf tmp'));
    assert.ok(m('bash -c **', 'bash', '-c', 'cat /etc/shadow'));
  });

  it('exact command lines compare the joined argv, as before', () => {
    assert.ok(m('systemctl restart nginx', 'systemctl', 'restart', 'nginx'));
    assert.ok(m('bash -c echo hi', 'bash', '-c', 'echo hi'));
    assert.ok(!m('systemctl restart nginx', 'systemctl', 'restart', 'nginx', 'x'));
  });

  it('aclRefusal uses argument-wise matching for rules and command groups', () => {
    const acl = parseAcl({
      commandGroups: { logs: ['cat /var/log/*'] },
      rules: [{ to: 'ship1', from: 'central', method: 'CLICommand', commands: ['@logs', 'tail -n ? /var/log/**'] }],
    });
    const q = (...data: string[]) => aclRefusal(acl, { to: 'ship1', from: 'central', method: 'CLICommand', data, central: 'central' });
    assert.equal(q('cat', '/var/log/syslog'), undefined);
    assert.equal(q('tail', '-n', '5', '/var/log/nginx/error.log'), undefined);
    assert.match(q('cat', '/var/log/../../etc/shadow')!, /not the command "cat \/var\/log\/..\/..\/etc\/shadow"/);
    assert.match(q('cat', '/var/log/x', '/etc/shadow')!, /not the command/);
    assert.match(q('tail', '-n', '5', '/var/log/a', '/etc/shadow')!, /not the command/);
  });
});

describe('writeAcl', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('refuses a pattern with an unclosed quote, and installs a good one', () => {
    const d = mkdtempSync(join(tmpdir(), 'steward-aclglob-'));
    dirs.push(d);
    mkdirSync(join(d, 'state'));
    const bad = parseAcl({ rules: [{ to: '*', from: 'central', method: 'CLICommand', commands: [`bash -c 'echo *`] }] });
    assert.throws(() => writeAcl(d, bad), /quote that is not closed/);
    assert.equal(readAcl(d).rules.length, 0);
    const good = parseAcl({ commandGroups: { g: [`bash -c 'echo *'`] }, rules: [{ to: '*', from: 'central', method: '*' }] });
    assert.equal(writeAcl(d, good).version, 1);
  });
});

describe('the default policy (no ACL set yet)', () => {
  const ask = (from: string, to = 'ship1') => ({ to, from, method: 'CLICommand', data: ['uptime'], central: 'hq' });

  it('lets central, whatever its name, call everything, and nobody else anything', () => {
    const policy = aclInForce(emptyAcl());
    assert.equal(aclRefusal(policy, ask('hq')), undefined);
    assert.equal(aclRefusal(policy, ask('hq', 'hq')), undefined);
    assert.match(aclRefusal(policy, ask('ship2')) ?? '', /deny by default/);
  });

  it('is replaced by the first ACL set, even an empty one', () => {
    const set = { ...emptyAcl(), version: 1 };
    assert.match(aclRefusal(aclInForce(set), ask('hq')) ?? '', /deny by default/);
  });

  it('@central names the central node in rules; a group of that name defined by the policy wins', () => {
    const rules = [{ to: 'ship1', from: '@central', method: 'CLICommand' }];
    assert.equal(aclRefusal(parseAcl({ version: 1, rules }), ask('hq')), undefined);
    const own = parseAcl({ version: 1, nodeGroups: { central: ['ops1'] }, rules });
    assert.match(aclRefusal(own, ask('hq')) ?? '', /deny by default/);
    assert.equal(aclRefusal(own, ask('ops1')), undefined);
  });
});

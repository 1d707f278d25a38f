/**
 * `steward keys list|show|allow|deny|revoke`: the operator's decisions on node
 * keys. Run on the machine of the central node: it edits central's key
 * register (`<central nodeFolder>/state/keys/registry.json`); the running
 * central notices within a second and pushes the approved set to every node.
 *
 * Keys are shown and named by fingerprint (`SHA256:` and 32 hex digits).
 * `allow` approves only the key the operator names, so a hello forged between
 * `keys list` and `keys allow` cannot get another key approved.
 */
import type { CommandModule } from 'yargs';
import { keyFingerprint, publicKeyFromText } from '@steward/core';
import { decideKey, KeyStatus, loadOrCreateNodeKeys, readRegistry, registryPath } from '@steward/node/client';
import { resolve } from 'node:path';

const actions = ['list', 'show', 'allow', 'deny', 'revoke'] as const;

type KeyEntry = ReturnType<typeof readRegistry>['nodes'][string];

/** The keys a node said hello with, its own key first. */
function keyLines(e: KeyEntry): { fingerprint: string; role: string; publicKey: string; seen: string }[] {
  return [
    { fingerprint: keyFingerprint(e.publicKey), role: e.status, publicKey: e.publicKey, seen: `last hello ${e.lastSeen}` },
    ...(e.offered ?? []).map((o) => ({
      fingerprint: keyFingerprint(o.publicKey),
      role: 'offered',
      publicKey: o.publicKey,
      seen: `first hello ${o.firstSeen}, last ${o.lastSeen}`,
    })),
  ];
}

/** The `steward keys` command. */
export function keysCommand(setCode: (code: number) => void): CommandModule {
  return {
    command: 'keys <action> [node] [key]',
    describe: "approve node keys at central: list, show (this node's key), allow <node> <fingerprint>, deny, revoke",
    builder: (y) =>
      y
        .positional('action', { choices: actions, describe: 'what to do' })
        .positional('node', { type: 'string', describe: 'the node (allow, deny, revoke)' })
        .positional('key', {
          type: 'string',
          describe: 'allow: the fingerprint (SHA256:...) or whole key you checked with `steward keys show` on the node',
        })
        .option('nodeFolder', {
          type: 'string',
          alias: 'folder',
          describe: "the central node's folder (holds state/keys/)",
          defaultDescription: 'the current directory',
        })
        .option('fingerprint', { type: 'string', describe: 'with allow: the fingerprint you checked (same as the [key] argument)' })
        .option('publicKey', { type: 'string', describe: 'with allow: the whole key (needed for a node that has not said hello yet)' }),
    handler: (raw) => {
      const a = raw as unknown as {
        action: (typeof actions)[number];
        node?: string;
        key?: string;
        fingerprint?: string;
        publicKey?: string;
        nodeFolder?: string;
      };
      const folder = resolve(a.nodeFolder ?? process.env.STEWARD_NODE_FOLDER ?? '.');
      try {
        if (a.action === 'show') {
          const own = loadOrCreateNodeKeys(folder).publicKeyText;
          // The key alone on stdout, so `$(steward keys show)` stays the key; the fingerprint is for the eye.
          console.log(own);
          console.error(`fingerprint ${keyFingerprint(own)}`);
        } else if (a.action === 'list') {
          const r = readRegistry(folder);
          console.log(`key register ${registryPath(folder)}, version ${r.version}`);
          for (const [name, e] of Object.entries(r.nodes).sort(([x], [y]) => x.localeCompare(y))) {
            const [own, ...offers] = keyLines(e);
            console.log(`${name.padEnd(20)} ${e.status.padEnd(8)} ${own!.fingerprint}  ${own!.seen}  key ${e.publicKey}`);
            if (offers.length === 0) continue;
            console.log(
              `  CONFLICT: ${offers.length + 1} keys offered for ${name} (an attack, or a reinstall): compare with \`steward keys show\` on ${name}`,
            );
            for (const o of offers) console.log(`    offered  ${o.fingerprint}  ${o.seen}  key ${o.publicKey}`);
          }
        } else {
          if (!a.node) throw new Error(`steward keys ${a.action} needs a node name`);
          allowOrDecide(folder, a.action, a.node, [a.key, a.fingerprint, a.publicKey]);
        }
        setCode(0);
      } catch (err) {
        console.error(`steward keys: ${(err as Error).message}`);
        setCode(1);
      }
    },
  };
}

function allowOrDecide(folder: string, action: 'allow' | 'deny' | 'revoke', node: string, given: (string | undefined)[]): void {
  const named = [...new Set(given.filter((k): k is string => k !== undefined && k !== ''))];
  if (named.length > 1) throw new Error(`name one key, not ${named.join(' and ')}`);
  const key = named[0];
  const e = readRegistry(folder).nodes[node];
  if (action === 'allow' && key === undefined) {
    // Never whatever is pending at this moment: a hello forged since the operator looked would be approved.
    if (!e)
      throw new Error(
        `no key known for node "${node}" (it has not said hello): steward keys allow ${node} <the key \`steward keys show\` prints on ${node}>`,
      );
    const keys = keyLines(e);
    const lines = keys.map((k) => `  ${k.fingerprint}  (${k.role}, ${k.seen})`).join('\n');
    const next =
      keys.length === 1
        ? `steward keys allow ${node} ${keys[0]!.fingerprint} --nodeFolder ${folder}`
        : `steward keys allow ${node} <one of the fingerprints above> --nodeFolder ${folder}`;
    throw new Error(
      `name the key you checked: ${node} said hello with\n${lines}\n` +
        `Compare with \`steward keys show\` run on ${node} (it prints the fingerprint), then run:\n  ${next}`,
    );
  }
  const status = { allow: KeyStatus.Allowed, deny: KeyStatus.Denied, revoke: KeyStatus.Revoked }[action];
  // A whole key for a node that has said hello must be one it offered, like a fingerprint: otherwise the operator checked another machine.
  const d = decideKey(folder, node, status, key, { mustBeOffered: key !== undefined && publicKeyFromText(key) !== undefined });
  const what =
    d.fingerprint === keyFingerprint(d.entry.publicKey) ? `${d.entry.status} ${d.fingerprint}` : `offered key ${d.fingerprint} dropped`;
  console.log(`${node}: ${what} (central pushes the new set to every node within a few seconds)`);
  if (d.discarded.length && action === 'allow')
    console.log(`${node}: dropped the other offered keys ${d.discarded.join(', ')} (a hello with one of them is refused and shows again)`);
}

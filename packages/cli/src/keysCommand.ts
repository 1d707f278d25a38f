/**
 * `steward keys list|show|allow|deny|revoke`: the operator's decisions on node
 * keys. Run on the machine of the central node: it edits central's key
 * register (`<central nodeFolder>/state/keys/registry.json`); the running
 * central notices within a second and pushes the approved set to every node.
 */
import type { CommandModule } from 'yargs';
import { decideKey, KeyStatus, loadOrCreateNodeKeys, readRegistry, registryPath } from '@steward/node/client';
import { resolve } from 'node:path';

const actions = ['list', 'show', 'allow', 'deny', 'revoke'] as const;

/** The `steward keys` command. */
export function keysCommand(setCode: (code: number) => void): CommandModule {
  return {
    command: 'keys <action> [node]',
    describe: "approve node keys at central: list, show (this node's key), allow, deny, revoke",
    builder: (y) =>
      y
        .positional('action', { choices: actions, describe: 'what to do' })
        .positional('node', { type: 'string', describe: 'the node (allow, deny, revoke)' })
        .option('nodeFolder', {
          type: 'string',
          alias: 'folder',
          describe: "the central node's folder (holds state/keys/)",
          defaultDescription: 'the current directory',
        })
        .option('publicKey', { type: 'string', describe: 'with allow: the key to approve, for a node that has not said hello yet' }),
    handler: (raw) => {
      const a = raw as unknown as { action: (typeof actions)[number]; node?: string; nodeFolder?: string; publicKey?: string };
      const folder = resolve(a.nodeFolder ?? process.env.STEWARD_NODE_FOLDER ?? '.');
      try {
        if (a.action === 'show') {
          console.log(loadOrCreateNodeKeys(folder).publicKeyText);
        } else if (a.action === 'list') {
          const r = readRegistry(folder);
          console.log(`key register ${registryPath(folder)}, version ${r.version}`);
          for (const [name, e] of Object.entries(r.nodes).sort(([x], [y]) => x.localeCompare(y)))
            console.log(
              `${name.padEnd(20)} ${e.status.padEnd(8)} ${e.publicKey}  last hello ${e.lastSeen}${e.newKey ? `  NEW KEY offered: ${e.newKey}` : ''}`,
            );
        } else {
          if (!a.node) throw new Error(`steward keys ${a.action} needs a node name`);
          const status = { allow: KeyStatus.Allowed, deny: KeyStatus.Denied, revoke: KeyStatus.Revoked }[a.action];
          const e = decideKey(folder, a.node, status, a.publicKey);
          console.log(`${a.node}: ${e.status} (central pushes the new set to every node within a few seconds)`);
        }
        setCode(0);
      } catch (err) {
        console.error(`steward keys: ${(err as Error).message}`);
        setCode(1);
      }
    },
  };
}

/**
 * `steward acl show|set|add|remove`: the fleet's access control lists, kept
 * at central (`<central nodeFolder>/state/acl.json`). The running central
 * notices a change within a second and pushes it, signed, with the key set;
 * nodes started with --enableAclCheck enforce it.
 */
import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { aclInForce, aclPath, parseAcl, readAcl, writeAcl, type AclRule } from '@steward/node/client';

const actions = ['show', 'set', 'add', 'remove'] as const;

interface AclArgs {
  action: (typeof actions)[number];
  arg?: string;
  nodeFolder?: string;
  to?: string;
  from?: string;
  method?: string;
  commands?: string[];
}

/** The `steward acl` command. */
export function aclCommand(setCode: (code: number) => void): CommandModule {
  return {
    command: 'acl <action> [arg]',
    describe: 'edit the ACL at central: show, set <file.json>, add --to --from --method [--commands ...], remove <rule number>',
    builder: (y) =>
      y
        .positional('action', { choices: actions })
        .positional('arg', { type: 'string', describe: 'set: the policy file; remove: the rule number (from show)' })
        .option('nodeFolder', {
          type: 'string',
          alias: 'folder',
          describe: "the central node's folder",
          defaultDescription: 'the current directory',
        })
        .option('to', { type: 'string', describe: 'add: receiving node, @nodeGroup or *' })
        .option('from', { type: 'string', describe: 'add: sending node, @nodeGroup or *' })
        .option('method', { type: 'string', describe: 'add: method name or *' })
        .option('commands', { type: 'string', array: true, describe: 'add: allowed command lines, glob patterns or @commandGroup' }),
    handler: (raw) => {
      const a = raw as unknown as AclArgs;
      const folder = resolve(a.nodeFolder ?? process.env.STEWARD_NODE_FOLDER ?? '.');
      try {
        const stored = readAcl(folder);
        // No ACL set yet: the default policy is in force, and edits start from it (adding a rule keeps central's).
        const acl = aclInForce(stored);
        if (a.action === 'show') {
          console.log(`ACL ${aclPath(folder)}, version ${acl.version}`);
          if (acl !== stored) console.log('no ACL set: the default policy is in force (@central is the central node)');
          console.log(JSON.stringify({ nodeGroups: acl.nodeGroups, commandGroups: acl.commandGroups }, null, 2));
          acl.rules.forEach((r, i) =>
            console.log(
              `${i + 1}. to ${r.to} from ${r.from} method ${r.method}${r.commands ? ` commands ${JSON.stringify(r.commands)}` : ''}`,
            ),
          );
        } else if (a.action === 'set') {
          if (!a.arg) throw new Error('steward acl set needs a JSON file');
          const next = parseAcl(JSON.parse(readFileSync(a.arg, 'utf8')));
          console.log(`ACL version ${writeAcl(folder, { ...next, version: acl.version }).version} installed`);
        } else if (a.action === 'add') {
          if (!a.to || !a.from || !a.method) throw new Error('steward acl add needs --to, --from and --method');
          const rule: AclRule = { to: a.to, from: a.from, method: a.method };
          if (a.commands?.length) rule.commands = a.commands;
          console.log(
            `ACL version ${writeAcl(folder, { ...acl, rules: [...acl.rules, rule] }).version}: rule ${acl.rules.length + 1} added`,
          );
        } else {
          const n = Number(a.arg);
          if (!Number.isInteger(n) || n < 1 || n > acl.rules.length) throw new Error(`no rule ${a.arg ?? ''} (see steward acl show)`);
          console.log(
            `ACL version ${writeAcl(folder, { ...acl, rules: acl.rules.filter((_, i) => i !== n - 1) }).version}: rule ${n} removed`,
          );
        }
        setCode(0);
      } catch (err) {
        console.error(`steward acl: ${(err as Error).message}`);
        setCode(1);
      }
    },
  };
}

/**
 * `steward service install|uninstall`: one systemd unit per node. `install`
 * writes `/etc/systemd/system/steward-<node>.service` (its own user, the node
 * folder as working directory, restart rules, exit code 2 not restarted,
 * SIGTERM to steward only), an environment file `/etc/steward/<node>.env`
 * (mode 0600) for the secrets, creates the node folder and the system user,
 * and prints the commands that start the unit. `--dry-run` prints all of it
 * and writes nothing. `uninstall` stops and removes the unit and its
 * environment file and says what it left.
 *
 * This module loads no runtime: only node builtins and the start options.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { nodeNameProblem } from '@steward/core';
import { stewardVersion } from '@steward/node/client';
import { UsageError } from './errors.js';
import { startOptionNames, startOptions, toNodeConfig } from './startCommand.js';

/** Where the unit, the secrets and the node folders go unless told otherwise. */
export const serviceDefaults = {
  /** @defaultValue '/etc/systemd/system' */
  unitDir: '/etc/systemd/system',
  /** @defaultValue '/etc/steward' */
  envDir: '/etc/steward',
  /** @defaultValue '/var/lib/steward' (the node folder is `<stateRoot>/<node>`) */
  stateRoot: '/var/lib/steward',
  /** @defaultValue 'steward' */
  user: 'steward',
} as const;

/** Start options that hold secrets: they go to the environment file, never onto the unit's command line. */
const secretOptions = {
  brokerPassword: 'STEWARD_BROKER_PASSWORD',
  brokerToken: 'STEWARD_BROKER_TOKEN',
  inspectToken: 'STEWARD_INSPECT_TOKEN',
} as const;
type SecretOption = keyof typeof secretOptions;

/** The options of `steward service` besides the start options. */
export const serviceOptionNames = ['user', 'dryRun', 'sandbox', 'unitDir', 'envDir'] as const;

type ServiceArgs = Record<string, unknown> & {
  action: 'install' | 'uninstall';
  node?: string;
  nodeFolder?: string;
  user: string;
  dryRun: boolean;
  sandbox: boolean;
  unitDir: string;
  envDir: string;
};

function serviceOptions<T>(y: Argv<T>) {
  return startOptions(y)
    .positional('action', { choices: ['install', 'uninstall'] as const, describe: 'install or uninstall the unit of --node' })
    .option('user', { type: 'string', default: serviceDefaults.user, describe: 'the account the node (and every command it runs) runs as' })
    .option('dryRun', { type: 'boolean', default: false, describe: 'print the unit and what would be done; write nothing' })
    .option('sandbox', {
      type: 'boolean',
      default: false,
      describe: 'systemd sandboxing (read-only system, no sudo): only for nodes whose commands write nothing outside the node folder',
    })
    .option('unitDir', { type: 'string', default: serviceDefaults.unitDir, describe: 'folder of the unit file' })
    .option('envDir', { type: 'string', default: serviceDefaults.envDir, describe: 'folder of the environment file holding the secrets' });
}

/**
 * The `steward service` command. `rawArgs` is the whole command line (after
 * Go-style flags are normalized): the unit repeats only the start options the
 * operator gave, so a later change of a default reaches the node.
 */
export function serviceCommand(rawArgs: readonly string[], setCode: (code: number) => void): CommandModule {
  return {
    command: 'service <action>',
    describe: 'install or uninstall a systemd unit that runs a node (--node, the start options, --user, --dry-run)',
    builder: (y) => serviceOptions(y) as unknown as Argv,
    handler: (raw) => {
      const a = raw as unknown as ServiceArgs;
      try {
        setCode(a.action === 'install' ? install(a, rawArgs) : uninstall(a));
      } catch (err) {
        console.error(`steward service ${a.action}: ${(err as Error).message}`);
        // Usage problems exit 2 like every command's; a failure on this machine exits 1.
        setCode(err instanceof UsageError ? err.exitCode : 1);
      }
    },
  };
}

/** The start options the operator typed (flags only; defaults and STEWARD_* variables are not repeated). */
export function givenStartOptions(rawArgs: readonly string[]): Set<string> {
  const known = new Set(startOptionNames());
  const given = new Set<string>();
  for (const arg of rawArgs) {
    if (arg === '--') break;
    if (!arg.startsWith('--')) continue;
    let name = arg.slice(2).split('=')[0]!;
    name = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (name === 'socket') name = 'socketPath';
    if (!known.has(name) && /^no[A-Z]/.test(name)) name = name[2]!.toLowerCase() + name.slice(3);
    if (known.has(name)) given.add(name);
  }
  return given;
}

/** Quotes one ExecStart argument: systemd splits on spaces, and expands `$VAR` and `%` specifiers. */
export function quoteExecArg(arg: string): string {
  if (/[\x00-\x1f\x7f]/.test(arg)) throw new UsageError(`a value holds a control character: ${JSON.stringify(arg)}`);
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(escaped)) return escaped;
  return '"' + escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/** A value of a systemd environment file, double-quoted with the escapes systemd reads back. */
function quoteEnvValue(v: string): string {
  if (/[\x00-\x1f\x7f]/.test(v))
    throw new UsageError('a secret holds a control character (a newline?): the environment file cannot carry it');
  return '"' + v.replace(/[\\"`$]/g, (c) => '\\' + c) + '"';
}

/** Path values of the unit: absolute, no whitespace or control characters, `%` escaped. */
function unitPath(what: string, p: string): string {
  if (!isAbsolute(p)) throw new UsageError(`${what} must be an absolute path, got "${p}"`);
  if (/[\s\x00-\x1f\x7f]/.test(p)) throw new UsageError(`${what} must not contain whitespace or control characters: "${p}"`);
  return p.replace(/%/g, '%%');
}

/** The steward entry script this command runs from, through symlinks (npm -g and install.sh link it). */
function entryScript(): string {
  return realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'steward.js'));
}

/** Finds a program on PATH or in the sbin folders (useradd lives there; a non-root PATH often lacks them). */
function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function userExists(user: string): boolean {
  return spawnSync('id', ['-u', user], { stdio: 'ignore' }).status === 0;
}

/**
 * Paths whose content the unit will run, and who else could change it. The
 * service runs this code as --user (root, often): a file another account can
 * write is a way into that account.
 */
function writableByOthers(paths: string[]): string[] {
  const me = process.getuid?.() ?? 0;
  const problems: string[] = [];
  const check = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    const stickyDir = st.isDirectory() && (st.mode & 0o1000) !== 0;
    if (st.uid !== 0 && st.uid !== me) problems.push(`${p} is owned by uid ${st.uid}`);
    else if ((st.mode & 0o022) !== 0 && !stickyDir)
      problems.push(`${p} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`);
  };
  for (const start of paths) {
    for (let p = dirname(start); ; p = dirname(p)) {
      check(p);
      if (p === '/') break;
    }
  }
  const walk = (dir: string, depth: number) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      check(p);
      if (e.isDirectory() && depth < 12 && problems.length < 20) walk(p, depth + 1);
    }
  };
  // The package folder: bin/, dist/ and its node_modules.
  walk(dirname(dirname(paths[1]!)), 0);
  check(paths[0]!);
  return problems;
}

/**
 * Folders on the way to the code that `user` may not enter (no execute bit
 * for others): node installed under /root by nvm, for example. The unit would
 * fail at every start; said at install time instead.
 */
function unreachableFor(user: string, paths: string[]): string[] {
  if (user === 'root') return [];
  const found = new Set<string>();
  for (const start of paths) for (let p = dirname(start); p !== '/'; p = dirname(p)) if ((statSync(p).mode & 0o001) === 0) found.add(p);
  return [...found].map(
    (p) => `${user} may not enter ${p} (mode ${(statSync(p).mode & 0o777).toString(8)}) on the way to the code the unit runs`,
  );
}

/** The lines of an environment file, keyed by variable (other lines kept in order). */
function readEnvFile(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l, i, all) => !(i === all.length - 1 && l === ''));
  } catch {
    return [];
  }
}

function envValueOf(lines: string[], key: string): string | undefined {
  const line = lines.find((l) => l.startsWith(`${key}=`));
  if (line === undefined) return undefined;
  const v = line.slice(key.length + 1);
  return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

/**
 * Writes a file atomically with `mode`: a temp file opened exclusively
 * (never through a planted link), then renamed over the target.
 */
function writeFileAtomic(path: string, text: string, mode: number): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** A root-owned folder nobody else may write to (the secrets and the unit live in it). */
function ensureTrustedDir(dir: string, mode: number): void {
  mkdirSync(dir, { recursive: true, mode });
  const st = statSync(dir);
  const me = process.getuid?.() ?? 0;
  if ((st.uid !== 0 && st.uid !== me) || (st.mode & 0o022) !== 0)
    throw new Error(
      `${dir} must belong to root (or you) and be writable by nobody else; it is uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}`,
    );
}

/** `systemd-analyze verify` of the unit text; undefined when systemd-analyze is not installed. */
function verifyUnit(unitName: string, text: string): { ok: boolean; report: string } | undefined {
  const analyze = which('systemd-analyze');
  if (!analyze) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'steward-unit-'));
  try {
    const file = join(dir, unitName);
    writeFileAtomic(file, text, 0o644);
    const r = spawnSync(analyze, ['verify', file], { encoding: 'utf8', timeout: 60_000 });
    // verify exits 0 on many problems (an unknown key, a bad value): every line about our file counts.
    const ours = `${r.stdout ?? ''}${r.stderr ?? ''}`
      .split('\n')
      .filter((l) => l.includes(unitName))
      .join('\n');
    return { ok: r.status === 0 && ours === '', report: ours || (r.status === 0 ? '' : (r.stderr ?? '').trim()) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The unit text and what it needs. */
export interface ServicePlan {
  unitName: string;
  unitPath: string;
  unitText: string;
  envPath: string;
  /** The environment file's new text (holds the secrets). */
  envText: string;
  /** The variables the environment file sets. */
  envKeys: string[];
  nodeFolder: string;
  user: string;
  warnings: string[];
}

/** Builds the unit and the environment file from the parsed options; writes nothing. */
export function planService(a: ServiceArgs, rawArgs: readonly string[]): ServicePlan {
  const node = a.node ?? '';
  const problem = node === '' ? 'is required: the name of the node the unit runs' : nodeNameProblem(node);
  if (problem) throw new UsageError(`--node ${problem}`);
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(a.user))
    throw new UsageError(`--user must be a system user name (a-z, 0-9, _ and -), got "${a.user}"`);
  const nodeFolder = resolve(a.nodeFolder ?? join(serviceDefaults.stateRoot, node));
  const unitName = `steward-${node}.service`;
  const unitPathName = join(resolve(a.unitDir), unitName);
  const envPath = join(resolve(a.envDir), `${node}.env`);
  const warnings: string[] = [];
  const given = givenStartOptions(rawArgs);

  // Secrets: from the flags or STEWARD_* variables now, else kept from the environment file of an earlier install.
  const envLines = readEnvFile(envPath);
  const secrets: Partial<Record<SecretOption, string>> = {};
  for (const [opt, env] of Object.entries(secretOptions) as [SecretOption, string][]) {
    const now = typeof a[opt] === 'string' && a[opt] !== '' ? (a[opt] as string) : undefined;
    if (now !== undefined && given.has(opt))
      warnings.push(`--${opt} was given on the command line (other users see it in ps, your shell keeps it); next time use ${env}=...`);
    const v = now ?? envValueOf(envLines, env);
    if (v !== undefined) secrets[opt] = v;
  }
  // The node would refuse the same options at every restart: refuse them now.
  try {
    toNodeConfig({ ...a, ...secrets, nodeFolder } as unknown as Parameters<typeof toNodeConfig>[0]);
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }

  const exec = [process.execPath, entryScript(), 'start', '--node', node, '--nodeFolder', nodeFolder];
  for (const k of startOptionNames()) {
    if (!given.has(k) || k === 'node' || k === 'nodeFolder' || k in secretOptions) continue;
    let v = a[k];
    if (v === undefined) continue;
    // The service runs in the node folder; these two are relative to where the operator is now.
    if ((k === 'config' || k === 'socketPath') && typeof v === 'string' && v !== '' && v !== 'off') v = resolve(v);
    if (typeof v === 'boolean') exec.push(...(v ? [`--${k}`] : [`--${k}`, 'false']));
    else if (v === '') exec.push(`--${k}`);
    else exec.push(`--${k}`, String(v as string | number));
  }
  const fromEnv = Object.keys(process.env).filter(
    (e) => e.startsWith('STEWARD_') && !Object.values(secretOptions).includes(e as (typeof secretOptions)[SecretOption]),
  );
  if (fromEnv.length) warnings.push(`not copied into the unit (give them as flags): ${fromEnv.join(', ')}`);

  const readWrite = new Set([nodeFolder]);
  for (const k of ['dataFolder', 'journalPath', 'auditPath'] as const) {
    const v = a[k];
    if (typeof v === 'string' && v !== '') readWrite.add(k === 'dataFolder' ? resolve(nodeFolder, v) : dirname(resolve(nodeFolder, v)));
  }
  for (const r of (typeof a.allowedWriteRoots === 'string' ? a.allowedWriteRoots : '').split(','))
    if (r.trim()) readWrite.add(resolve(r.trim()));
  const sandbox = a.sandbox
    ? [
        '# --sandbox: commands can write only in these folders, and cannot gain privileges (no sudo).',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        `ReadWritePaths=${[...readWrite].map((p) => unitPath('a writable path', p)).join(' ')}`,
        'ProtectHome=read-only',
        'PrivateTmp=yes',
        'PrivateDevices=yes',
        'ProtectKernelTunables=yes',
        'ProtectKernelModules=yes',
        'ProtectKernelLogs=yes',
        'ProtectControlGroups=yes',
        'ProtectClock=yes',
        'ProtectHostname=yes',
        'RestrictSUIDSGID=yes',
        'RestrictRealtime=yes',
        'LockPersonality=yes',
      ]
    : [
        '# No filesystem or privilege sandboxing: the commands this node runs administer the machine',
        '# (as this user, or through sudo). For a node that only reads, reinstall with --sandbox.',
      ];
  const unitText = [
    `# Written by "steward service install" (steward ${stewardVersion}). Re-run it to change the options.`,
    `# Secrets are in ${envPath} (mode 0600), never on this command line.`,
    '[Unit]',
    `Description=steward node ${node}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${a.user}`,
    `WorkingDirectory=${unitPath('--nodeFolder', nodeFolder)}`,
    `EnvironmentFile=${unitPath('--envDir', envPath)}`,
    `ExecStart=${exec.map(quoteExecArg).join(' ')}`,
    '# 70 (escalation, uncaught exception) and any other exit: start fresh.',
    'Restart=always',
    'RestartSec=5',
    '# 2 = bad configuration: restarting will not help.',
    'RestartPreventExitStatus=2',
    '# SIGTERM to steward only: it stops its running commands and its local nats-server itself;',
    '# whatever is left after TimeoutStopSec gets SIGKILL.',
    'KillMode=mixed',
    'TimeoutStopSec=30',
    'LimitNOFILE=65536',
    `SyslogIdentifier=steward-${node}`,
    ...sandbox,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');

  const envKeys = Object.keys(secrets).map((k) => secretOptions[k as SecretOption]);
  const kept = envLines.filter((l) => !envKeys.some((k) => l.startsWith(`${k}=`)));
  const header = kept.length ? [] : [`# Secrets of steward node ${node}, read by systemd (as root) when it starts the unit.`];
  const envText =
    [
      ...header,
      ...kept,
      ...(Object.entries(secrets) as [SecretOption, string][]).map(([k, v]) => `${secretOptions[k]}=${quoteEnvValue(v)}`),
    ].join('\n') + '\n';
  return { unitName, unitPath: unitPathName, unitText, envPath, envText, envKeys, nodeFolder, user: a.user, warnings };
}

function install(a: ServiceArgs, rawArgs: readonly string[]): number {
  const plan = planService(a, rawArgs);
  const script = entryScript();
  const codeProblems = writableByOthers([process.execPath, script]);
  const createUser = a.user !== 'root' && !userExists(a.user);
  plan.warnings.push(...unreachableFor(a.user, [process.execPath, script]));
  const useradd = [
    '--system',
    '--user-group',
    '--home-dir',
    dirname(plan.nodeFolder),
    '--no-create-home',
    '--shell',
    '/usr/sbin/nologin',
    a.user,
  ];
  const verified = verifyUnit(plan.unitName, plan.unitText);
  const verifyLine =
    verified === undefined
      ? 'systemd-analyze verify: skipped (systemd-analyze is not installed here)'
      : verified.ok
        ? 'systemd-analyze verify: ok'
        : `systemd-analyze verify: FAILED\n${verified.report}`;

  if (a.dryRun) {
    console.log(`# dry run: nothing written. "steward service install" would write ${plan.unitPath}:`);
    console.log(plan.unitText);
    console.log(
      `# and ${plan.envPath} (mode 0600, owner root), holding ${plan.envKeys.length ? plan.envKeys.join(', ') : 'no secret yet'} (values not shown)`,
    );
    if (createUser) console.log(`# create the user: useradd ${useradd.join(' ')}`);
    console.log(`# create ${plan.nodeFolder} (owner ${a.user}, mode 0750) unless it exists`);
    console.log(`# ${verifyLine}`);
    for (const w of [...plan.warnings, ...codeProblems.map((p) => `the unit would run code another account can change: ${p}`)])
      console.error(`warning: ${w}`);
    return verified && !verified.ok ? 1 : 0;
  }

  if (verified && !verified.ok) throw new Error(`the unit does not verify, nothing written:\n${verified.report}`);
  if (codeProblems.length)
    throw new Error(
      `refusing: the unit would run code that another account can change, as ${a.user}:\n  ${codeProblems.join('\n  ')}\n` +
        "Install steward where only root can write (npm install -g as root, or the bundle's install.sh), or fix the permissions.",
    );
  const root = (process.getuid?.() ?? 0) === 0;
  if (!root && (resolve(a.unitDir) === serviceDefaults.unitDir || resolve(a.envDir) === serviceDefaults.envDir || createUser))
    throw new Error('run it as root (sudo steward service install ...), or look first with --dry-run');
  for (const w of plan.warnings) console.error(`warning: ${w}`);

  if (createUser) {
    execFileSync(which('useradd') ?? 'useradd', useradd, { stdio: 'inherit' });
    console.log(`created system user ${a.user}`);
  }
  const uid = Number(execFileSync('id', ['-u', a.user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', a.user], { encoding: 'utf8' }).trim());
  if (!existsSync(plan.nodeFolder)) {
    mkdirSync(dirname(plan.nodeFolder), { recursive: true, mode: 0o755 });
    mkdirSync(plan.nodeFolder, { mode: 0o750 });
    // Not through a link someone put there between the two calls.
    lchownSync(plan.nodeFolder, uid, gid);
    console.log(`created ${plan.nodeFolder} (owner ${a.user}, mode 0750)`);
  } else if (statSync(plan.nodeFolder).uid !== uid) {
    console.error(`warning: ${plan.nodeFolder} exists and is not owned by ${a.user}: the node must be able to write there`);
  }
  ensureTrustedDir(dirname(plan.envPath), 0o755);
  writeFileAtomic(plan.envPath, plan.envText, 0o600);
  console.log(`wrote ${plan.envPath} (mode 0600)${plan.envKeys.length ? `: ${plan.envKeys.join(', ')}` : ''}`);
  const replacing = existsSync(plan.unitPath);
  ensureTrustedDir(dirname(plan.unitPath), 0o755);
  writeFileAtomic(plan.unitPath, plan.unitText, 0o644);
  console.log(`wrote ${plan.unitPath}`);
  console.log(verifyLine);
  if (replacing)
    console.log(
      `the unit was replaced; the running node keeps its old options until:\n  systemctl daemon-reload\n  systemctl restart ${plan.unitName}`,
    );
  else console.log(`start it:\n  systemctl daemon-reload\n  systemctl enable --now ${plan.unitName}\n  journalctl -u ${plan.unitName} -f`);
  return 0;
}

function uninstall(a: ServiceArgs): number {
  const node = a.node ?? '';
  const problem = node === '' ? 'is required: the node whose unit to remove' : nodeNameProblem(node);
  if (problem) throw new UsageError(`--node ${problem}`);
  const unitName = `steward-${node}.service`;
  const unitFile = join(resolve(a.unitDir), unitName);
  const envFile = join(resolve(a.envDir), `${node}.env`);
  if (!existsSync(unitFile)) throw new Error(`no unit ${unitFile}: nothing to remove`);
  const text = readFileSync(unitFile, 'utf8');
  const folder = /^WorkingDirectory=(.*)$/m.exec(text)?.[1]?.replace(/%%/g, '%');
  const user = /^User=(.*)$/m.exec(text)?.[1];
  const systemd = existsSync('/run/systemd/system') && resolve(a.unitDir) === serviceDefaults.unitDir && which('systemctl');
  if (a.dryRun) {
    console.log(`# dry run: would stop and disable ${unitName}, remove ${unitFile} and ${envFile}`);
    return 0;
  }
  if (systemd) {
    // Stopped before its file goes: a unit removed while running cannot be stopped by name any more.
    const r = spawnSync(systemd, ['disable', '--now', unitName], { stdio: 'inherit' });
    if (r.status !== 0) console.error(`warning: systemctl disable --now ${unitName} failed (exit ${r.status}); removing the unit anyway`);
  }
  unlinkSync(unitFile);
  console.log(`removed ${unitFile}`);
  if (existsSync(envFile)) {
    unlinkSync(envFile);
    console.log(`removed ${envFile}`);
  }
  if (systemd) spawnSync(systemd, ['daemon-reload'], { stdio: 'inherit' });
  else
    console.log(
      'systemd is not running here (or --unitDir is not its folder): nothing stopped; run systemctl daemon-reload where it applies',
    );
  console.log('left in place:');
  if (folder) console.log(`  node folder ${folder} (journal, keys, outputs): rm -rf ${folder} when you no longer need them`);
  if (user && user !== 'root') console.log(`  user ${user}: userdel ${user} once no other node runs as ${user}`);
  return 0;
}

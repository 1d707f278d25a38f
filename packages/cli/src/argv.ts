/**
 * Go-style flags: the seed's users wrote `-node=ship1` and
 * `-brokerAddress 127.0.0.1:4222` (one dash). yargs would read `-node` as
 * the short flags n, o, d, e, so one-dash long flags get a second dash.
 */
export function normalizeGoFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    if (arg === '--') {
      out.push(...argv.slice(out.length));
      break;
    }
    out.push(/^-[A-Za-z][A-Za-z0-9-]+(=.*)?$/.test(arg) ? `-${arg}` : arg);
  }
  return out;
}

/**
 * yargs reads a lone `-` as a positional argument, not as an option's value;
 * `--file -` (read stdin) is joined into `--file=-` before parsing. Arguments
 * after `--` are left as they are.
 */
export function normalizeClientArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (arg === '--file' && args[i + 1] === '-') {
      out.push('--file=-');
      i++;
    } else out.push(arg);
  }
  return out;
}

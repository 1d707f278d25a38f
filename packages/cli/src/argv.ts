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

/**
 * Settings the node reads itself (see the node's `node/facts.ts`) that are
 * not `steward start` options: the `tags` object of the config file and the
 * variable STEWARD_TAGS. yargs, being strict, would refuse both as unknown
 * arguments, so they are set aside before it parses and given back to the
 * node just before it starts. Once the configuration schema has a `tags`
 * option, this module can go.
 */

/** Environment variables read by the node itself, not by yargs. */
const nodeEnvironment = ['STEWARD_TAGS'] as const;
/** Config-file keys read by the node itself (from `<nodeFolder>/steward.json`), not by yargs. */
const nodeFileKeys = ['tags'] as const;

/** What {@link setAsideNodeSettings} took away, to give back with `restore`. */
export interface NodeSettings {
  /** Puts the environment variables back, for the node about to start. */
  restore(): void;
}

/**
 * Takes the node's own settings out of `fileConfig` (in place) and out of
 * the environment, so yargs never sees them.
 */
export function setAsideNodeSettings(fileConfig: Record<string, unknown>): NodeSettings {
  for (const k of nodeFileKeys) delete fileConfig[k];
  const kept: Record<string, string> = {};
  for (const k of nodeEnvironment) {
    const v = process.env[k];
    if (v === undefined) continue;
    kept[k] = v;
    delete process.env[k];
  }
  return { restore: () => Object.assign(process.env, kept) };
}

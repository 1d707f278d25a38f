/**
 * The young generation of V8's heap during `steward start`. While the
 * runtime loads and starts, nearly everything allocated survives (code,
 * module objects, the actor tree), which makes V8 grow the young generation
 * (to 4 MB semi-spaces here) for good, though an idle node needs none of it:
 * ~4 MB of resident memory. Growth is held off until the node is ready, then
 * V8's default is back, so a node under load sizes its young generation as
 * it always did.
 *
 * main.ts imports this module first, so that for `steward start` the hold
 * begins before the other modules load.
 */
import { setFlagsFromString } from 'node:v8';

/** V8's `--semi-space-growth-factor`: the young generation doubles when it grows. */
const v8YoungGrowthFactor = 2;

/** Stops V8 from growing the young generation (until {@link releaseYoungGeneration}). */
export function holdYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** Gives V8 its default young generation growth back. */
export function releaseYoungGeneration(): void {
  setFlagsFromString(`--semi-space-growth-factor=${v8YoungGrowthFactor}`);
}

// `steward start` (process.argv: node, the steward script, the command).
if (process.argv[2] === 'start') holdYoungGeneration();

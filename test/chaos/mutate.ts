/**
 * Random and mutated inputs for fuzzing, from a seeded PRNG so every case can be
 * replayed: seed messages in the seed's format, mutated at the text level (bytes
 * dropped, inserted, brackets swapped, truncation) and at the value level (fields
 * removed, wrong types, huge or negative numbers, hostile strings).
 */
import { prng } from './chaosRound.js';

/** Valid seed messages the mutations start from. */
export const seedMessages: Record<string, unknown>[] = [
  { toNode: 'ship1', data: ['bash', '-c', 'ls -l ../'], commandOrEvent: 'CommandACK', method: 'CLICommand' },
  {
    toNode: 'ship1',
    data: ['bash', '-c', 'netstat -an|grep -i listen'],
    commandOrEvent: 'CommandACK',
    method: 'CLICommand',
    timeout: 3,
    retries: 3,
  },
  { toNode: 'central', data: ['some message sent from a ship for testing\n'], commandOrEvent: 'EventACK', method: 'TextLogging' },
  { toNode: 'ship1', data: ['hello'], method: 'ECHORequest' },
  { toNode: 'ship1', methodArgs: ['true'], method: 'CLICommandRequestNOSEQ', methodTimeout: 5 },
];

const hostile = [
  '',
  ' ',
  '..',
  '../../etc',
  '/etc/passwd',
  'a.b',
  '*',
  '>',
  'ship1\u0000',
  '\u202e',
  'x'.repeat(300),
  '{{STEWARD_DATA}}',
  '$(reboot)',
  'null',
];
const oddValues: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  -2,
  1.5,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER,
  '',
  '3',
  [],
  {},
  [1, 2],
  { a: 1 },
  ...hostile,
];
const fields = [
  'toNode',
  'data',
  'method',
  'commandOrEvent',
  'timeout',
  'retries',
  'methodTimeout',
  'requestTimeout',
  'requestRetries',
  'retryWait',
  'methodArgs',
  'ACKTimeout',
  'rerunInterrupted',
];

/** A generator of fuzz cases. */
export class Mutator {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** A message value, valid or mutated at the value level. */
  value(): unknown {
    const m: Record<string, unknown> = structuredClone(this.pick(seedMessages));
    const steps = this.int(4);
    for (let i = 0; i < steps; i++) {
      const f = this.pick(fields);
      const r = this.int(3);
      if (r === 0) delete m[f];
      else if (r === 1) m[f] = this.pick(oddValues);
      else m[`x${this.int(5)}`] = this.pick(oddValues);
    }
    return m;
  }

  /** Text for inmsg.txt: arrays or objects, maybe mutated at the text level. */
  text(): string {
    const values = Array.from({ length: 1 + this.int(3) }, () => this.value());
    let t = this.int(2) ? JSON.stringify(values, null, this.int(2) ? 4 : undefined) : JSON.stringify(values[0]);
    const steps = this.int(3);
    for (let i = 0; i < steps; i++) {
      const at = this.int(t.length + 1);
      const r = this.int(5);
      if (r === 0) t = t.slice(0, at) + t.slice(at + 1 + this.int(5));
      else if (r === 1) t = t.slice(0, at) + this.pick(['[', ']', '{', '}', '"', ',', ':', '\\', '\n', '\u0000', 'é', '#']) + t.slice(at);
      else if (r === 2) t = t.slice(0, at);
      else if (r === 3) t = t.replace(/[[\]{}]/, this.pick(['[', ']', '{', '}']));
      else t = t.slice(0, at) + String.fromCharCode(this.int(0x3000)) + t.slice(at);
    }
    return t;
  }

  /** A raw payload for a NATS subject: garbage, JSON of any shape, or a mutated wire message. */
  payload(): string {
    const r = this.int(4);
    if (r === 0) return Array.from({ length: this.int(200) }, () => String.fromCharCode(this.int(256))).join('');
    if (r === 1) return JSON.stringify(this.pick(oddValues));
    const wire = {
      ...(this.value() as object),
      id: `fuzz-${this.int(1e9)}`,
      fromNode: this.pick(['tester', 'ship1', '../x', '']),
      createdAt: Date.now(),
      timeout: 1,
      retries: 0,
      methodTimeout: 1,
    };
    return r === 2 ? JSON.stringify(wire) : this.textMutate(JSON.stringify(wire));
  }

  private textMutate(t: string): string {
    const at = this.int(t.length);
    return t.slice(0, at) + this.pick(['', '"', '}', '\u0000', '{']) + t.slice(at + 1);
  }
}

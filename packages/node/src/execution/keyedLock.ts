/**
 * One holder at a time per key, first come first served, with places that
 * can be reserved ahead of time. The subscribers share one, keyed by file,
 * so that appends to one file from different subjects or methods run one
 * after another (see MethodHandler.appendsTo).
 */
interface Key {
  /** Whoever waits, in turn order; each is called when it is its turn. */
  waiting: (() => void)[];
}

export class KeyedLock {
  /** Held keys; a key is absent when free. */
  private readonly keys = new Map<string, Key>();
  /** Places taken in advance, by owner (see {@link reserve}). */
  private readonly reservations = new Map<string, Promise<() => void>>();

  /**
   * Resolves when `key` is ours, with the function that gives it up (call it
   * once). The place in the queue is taken now, synchronously: whoever asks
   * later comes after us (or at the very front, with `front`).
   */
  acquire(key: string, front = false): Promise<() => void> {
    const held = this.keys.get(key);
    if (!held) {
      const entry: Key = { waiting: [] };
      this.keys.set(key, entry);
      return Promise.resolve(this.releaser(key, entry));
    }
    return new Promise((resolve) => {
      const turn = (): void => resolve(this.releaser(key, held));
      if (front) held.waiting.unshift(turn);
      else held.waiting.push(turn);
    });
  }

  /** Runs `fn` holding `key`. */
  async with<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * Queues for `key` now on behalf of `owner`; the owner takes the place with
   * {@link claim}. At start-up (`front` false, before anyone else asks) and
   * when a subscriber restarts (`front` true: next in turn, before those
   * already waiting), so that interrupted appends resume before new ones
   * touch their files. An owner with a place already keeps it.
   */
  reserve(key: string, owner: string, front = false): void {
    if (this.reservations.has(owner)) return;
    this.reservations.set(owner, this.acquire(key, front));
  }

  /** The place `owner` reserved (resolves once it is its turn), or undefined. */
  claim(owner: string): Promise<() => void> | undefined {
    const place = this.reservations.get(owner);
    this.reservations.delete(owner);
    return place;
  }

  /** Keys held. */
  get size(): number {
    return this.keys.size;
  }

  private releaser(key: string, entry: Key): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = entry.waiting.shift();
      if (next) next();
      else this.keys.delete(key);
    };
  }
}

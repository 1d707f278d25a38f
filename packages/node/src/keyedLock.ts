/**
 * One holder at a time per key, first come first served. The subscribers
 * share one, keyed by file, so that appends to one file from different
 * subjects or methods run one after another (see MethodHandler.appendsTo).
 */
export class KeyedLock {
  /** Per key, a promise that settles when the last holder queued so far releases. */
  private readonly tails = new Map<string, Promise<void>>();
  /** Places taken in advance, by owner (see {@link reserve}). */
  private readonly reservations = new Map<string, Promise<() => void>>();

  /** Resolves when `key` is ours, with the function that gives it up (call it once). */
  acquire(key: string): Promise<() => void> {
    const before = this.tails.get(key);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const tail = before ? before.then(() => released) : released;
    // Queued now, synchronously: whoever asks later comes after us.
    this.tails.set(key, tail);
    const giveUp = (): void => {
      release();
      // Nobody queued behind us: forget the key.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    return before ? before.then(() => giveUp) : Promise.resolve(giveUp);
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
   * Queues for `key` now on behalf of `owner`, ahead of anyone who asks
   * later; the owner takes the place with {@link claim}. Used at start-up, so
   * that interrupted appends resume before new ones touch their files.
   */
  reserve(key: string, owner: string): void {
    if (this.reservations.has(owner)) return;
    this.reservations.set(owner, this.acquire(key));
  }

  /** The place `owner` reserved (resolves once it is its turn), or undefined. */
  claim(owner: string): Promise<() => void> | undefined {
    const place = this.reservations.get(owner);
    this.reservations.delete(owner);
    return place;
  }

  /** Keys held or waited for. */
  get size(): number {
    return this.tails.size;
  }
}

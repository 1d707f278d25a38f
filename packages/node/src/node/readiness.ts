/**
 * When a starting node counts as ready: every subscriber has subscribed, and
 * `steward send` can reach the node (or its socket was refused, and that was
 * reported).
 */

/** @internal */
export class Readiness {
  private readonly subscribedMethods = new Set<string>();
  private markSubscribed!: () => void;
  private markSocketTried!: () => void;
  private readonly allSubscribed = new Promise<void>((r) => (this.markSubscribed = r));
  private readonly socketDone = new Promise<void>((r) => (this.markSocketTried = r));
  /** Resolves once the node is ready. */
  readonly ready: Promise<void>;

  /** `methods`: those the node subscribes to; `socket`: whether it has a socket API. */
  constructor(
    private readonly methods: readonly string[],
    socket: boolean,
  ) {
    if (methods.length === 0) this.markSubscribed();
    if (!socket) this.markSocketTried();
    this.ready = Promise.all([this.allSubscribed, this.socketDone]).then(() => undefined);
  }

  /** The subscriber of `method` has subscribed. */
  subscribed(method: string): void {
    this.subscribedMethods.add(method);
    if (this.subscribedMethods.size === this.methods.length) this.markSubscribed();
  }

  /** The socket API was started, or its start failed. */
  socketTried(): void {
    this.markSocketTried();
  }
}

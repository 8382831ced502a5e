/**
 * When the writer commits and how many writes go into one transaction. Pure (time comes in as an
 * argument), so the policy is tested without threads or timers.
 *
 * Two goals pull apart: large batches spread a commit's fixed cost (the fsync, the pages every
 * batch rewrites), while the writer and the main thread should work at the same time, not take
 * turns. 200 players awaiting one batch of 200 leave the writer idle while the main thread turns
 * the answers into new writes, and the main thread idle while the writer commits. So:
 *
 * - A batch is at most half the queue, unless that is below the previous batch (or the queue is
 *   small): a closed loop of players settles into at least two groups that alternate, one being
 *   committed while the other is on the main thread; a steady stream of writes is taken whole.
 * - The window (wait for more writes before committing a short queue) only applies after the
 *   writer has been idle for a window or more. Under load, writes gather while the previous
 *   commit runs; waiting as well would only leave the writer idle.
 */
export interface GroupCommitSettings {
  groupCommitWindowMs: number;
  groupCommitWritesMax: number;
}

/** Below twice this many queued writes, they are all taken at once. */
export const splitWritesMin = 32;

export class GroupCommitPolicy {
  readonly #settings: GroupCommitSettings;
  #previousWrites = 0;
  #idleSinceMs = Number.NEGATIVE_INFINITY;

  constructor(settings: GroupCommitSettings) {
    this.#settings = settings;
  }

  /** How long to wait before committing `queued` writes (0: on the next turn). */
  waitMs(queued: number, nowMs: number): number {
    const { groupCommitWindowMs, groupCommitWritesMax } = this.#settings;
    if (queued >= groupCommitWritesMax) return 0;
    return nowMs - this.#idleSinceMs < groupCommitWindowMs ? 0 : groupCommitWindowMs;
  }

  /** How many of the `queued` writes the next transaction takes. */
  take(queued: number): number {
    const { groupCommitWritesMax } = this.#settings;
    const writes =
      queued < 2 * splitWritesMin ? queued : Math.max(this.#previousWrites, Math.ceil(queued / 2));
    this.#previousWrites = Math.min(writes, queued, groupCommitWritesMax);
    return this.#previousWrites;
  }

  /** A transaction ended at `nowMs`; `queued` writes are left. */
  committed(nowMs: number, queued: number): void {
    if (queued === 0) this.#idleSinceMs = nowMs;
  }
}

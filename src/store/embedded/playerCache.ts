/**
 * The writer's copy of players' (balance, seq) and the rest a write needs of its player (its latest
 * journal row, the day's loss, the limits), so a write need not read its player's row. Sound
 * because the writer thread is the only one that writes `ledger.db` (it holds the file's writer
 * lock, writerLock.ts): an entry holds the state of the open transaction, and the batch writer
 * clears the whole cache whenever a transaction (or a pass of it) is rolled back, so nothing
 * rolled back is ever read again. Should an entry still be stale, the batch writer's update of
 * the players row notices (it only moves a row from the seq the entry said) and redoes the batch.
 *
 * Bounded by two generations: entries go to the young map; when it holds half the bound it becomes
 * the old map and the previous old one is dropped. A hit in the old map moves the entry back to
 * the young one, so players in play stay cached. O(1) per access, never more than `entriesMax`.
 */
export interface CachedPlayer {
  balance: number;
  seq: number;
}

export class PlayerCache<T = CachedPlayer> {
  readonly #generationMax: number;
  #young = new Map<string, T>();
  #old = new Map<string, T>();

  constructor(entriesMax: number) {
    if (!Number.isSafeInteger(entriesMax) || entriesMax < 2) {
      throw new RangeError(`player cache bound ${entriesMax} is not an integer >= 2`);
    }
    this.#generationMax = Math.floor(entriesMax / 2);
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  get(playerId: string): T | undefined {
    const young = this.#young.get(playerId);
    if (young !== undefined) return young;
    const old = this.#old.get(playerId);
    if (old !== undefined) this.set(playerId, old);
    return old;
  }

  set(playerId: string, player: T): void {
    this.#young.set(playerId, player);
    if (this.#young.size >= this.#generationMax) {
      this.#old = this.#young;
      this.#young = new Map();
    }
  }

  delete(playerId: string): void {
    this.#young.delete(playerId);
    this.#old.delete(playerId);
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
  }
}

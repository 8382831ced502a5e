import { biggestWinBoard, type Leaderboards } from "./leaderboards.ts";

/**
 * Feeds settled wins to the leaderboards off the money path: a spin never waits for it, and a
 * leaderboard outage only costs leaderboard entries. At most `inFlightMax` updates are pending;
 * past that, updates are dropped and counted rather than queued without bound.
 */
export class WinRecorder {
  private inFlight = 0;

  constructor(
    private readonly leaderboards: Leaderboards,
    private readonly inFlightMax: number,
    /** Told of every update lost: dropped (too many pending) or failed (the store refused). */
    private readonly onLost: (reason: "dropped" | "failed") => void = () => {},
  ) {}

  /** Records in the background; past `inFlightMax` pending updates, the update is dropped. */
  record(playerId: string, win: number): void {
    if (win <= 0) return;
    if (this.inFlight >= this.inFlightMax) {
      this.onLost("dropped");
      return;
    }
    void this.recordNow(playerId, win);
  }

  /**
   * Records and resolves when the store answered (never rejects): for a consumer that has its own
   * bounded queue and should wait rather than drop.
   */
  async recordNow(playerId: string, win: number): Promise<void> {
    if (win <= 0) return;
    this.inFlight += 1;
    try {
      await this.leaderboards.recordWin(biggestWinBoard, playerId, win);
    } catch {
      this.onLost("failed");
    } finally {
      this.inFlight -= 1;
    }
  }
}

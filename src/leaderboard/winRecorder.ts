import { biggestWinBoard, type Leaderboards } from "./leaderboards.ts";

/**
 * Feeds settled wins to the leaderboards off the money path: a spin never waits for it, and a
 * leaderboard outage only costs leaderboard entries. At most `inFlightMax` updates are pending;
 * past that, updates are dropped and counted rather than queued without bound.
 */
export class WinRecorder {
  private inFlight = 0;
  dropped = 0;
  failed = 0;

  constructor(
    private readonly leaderboards: Leaderboards,
    private readonly inFlightMax: number,
  ) {}

  record(playerId: string, win: number): void {
    if (win <= 0) return;
    if (this.inFlight >= this.inFlightMax) {
      this.dropped += 1;
      return;
    }
    this.inFlight += 1;
    this.leaderboards
      .recordWin(biggestWinBoard, playerId, win)
      .catch(() => {
        this.failed += 1;
      })
      .finally(() => {
        this.inFlight -= 1;
      });
  }
}

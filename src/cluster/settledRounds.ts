import type { SettledRoundEvent } from "../actors/table.ts";

/**
 * Settled table rounds, published for work that must stay off the game path (the `biggest-win`
 * leaderboard now; analytics later). On one node this is a bounded in-process queue drained by
 * one consumer; in a cluster it is a durable stream with a consumer group. A round never waits
 * for it: `publish` returns at once, and when the queue is full the event is dropped and counted,
 * never queued without bound (it feeds leaderboards, not money).
 */
export interface SettledRoundBus {
  publish(event: SettledRoundEvent): void;
}

export class LocalSettledRoundQueue implements SettledRoundBus {
  private readonly queue: SettledRoundEvent[] = [];
  private draining = false;
  dropped = 0;
  failed = 0;
  consumed = 0;

  constructor(
    private readonly consume: (event: SettledRoundEvent) => Promise<void> | void,
    private readonly capacity: number,
    /** Told of each event dropped for a full queue. */
    private readonly onDropped: () => void = () => {},
  ) {}

  publish(event: SettledRoundEvent): void {
    if (this.queue.length >= this.capacity) {
      this.dropped += 1;
      this.onDropped();
      return;
    }
    this.queue.push(event);
    if (!this.draining) {
      this.draining = true;
      // Not in the publisher's turn: the round goes on before the consumer runs.
      setTimeout(() => void this.drain(), 0);
    }
  }

  private async drain(): Promise<void> {
    for (let event = this.queue.shift(); event !== undefined; event = this.queue.shift()) {
      try {
        await this.consume(event);
        this.consumed += 1;
      } catch {
        this.failed += 1;
      }
    }
    this.draining = false;
  }
}

import type { SocketSession } from "./socketSession.ts";

/** Frames queued at most before they are written at once, whatever the turn (bounded memory). */
export const outboundFramesQueuedMax = 65_536;

/**
 * Frames for this node's sockets, written together once the current task and the promise chains
 * it started have run (on the next check phase of the event loop).
 *
 * The replies of a committed ledger batch are produced one by one, each at the end of its
 * command's promise chain. Written as each was ready, they were spread out, and every write woke
 * the client on its own; written back to back after the batch, the node spent about a microsecond
 * less per spin and did 3-5% more spins (bench/RESULTS.md).
 *
 * Frames of one socket keep their order. A frame must not overtake one queued before it, so
 * whatever goes out some other way flushes first: a close (socketSession.ts) and a table
 * broadcast (tableFanout.ts).
 */
export class OutboundFrames {
  #sessions: SocketSession[] = [];
  #texts: string[] = [];
  #scheduled = false;

  push(session: SocketSession, text: string): void {
    this.#sessions.push(session);
    this.#texts.push(text);
    if (this.#texts.length >= outboundFramesQueuedMax) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes every queued frame now, in the order queued. */
  flush(): void {
    this.#scheduled = false;
    const sessions = this.#sessions;
    const texts = this.#texts;
    if (texts.length === 0) return;
    // Swapped out first: a write that closes its socket flushes again, and finds only what
    // was queued since.
    this.#sessions = [];
    this.#texts = [];
    for (let i = 0; i < texts.length; i++) {
      (sessions[i] as SocketSession).write(texts[i] as string);
    }
  }
}

import { type TableBroadcaster, tableTopic } from "../cluster/tableBroadcast.ts";
import type { OutboundFrames } from "./outboundFrames.ts";
import { closeCodes, type SocketSession } from "./socketSession.ts";

/** What the fan-out needs of the server: Bun's `server.publish`. */
export interface TopicPublisher {
  publish(topic: string, data: string): number;
}

/**
 * A table's broadcasts to the sockets on this node that watch it, through Bun's pub/sub: one
 * topic per table, each event encoded once and copied to every subscriber by the server, not
 * serialised and sent once per client.
 *
 * Slow clients must not slow the table nor lose events silently. Bun drops a published message
 * for a subscriber whose outbound buffer is already over the backpressure limit, so before each
 * publish every watcher over the limit is closed with 4002 (it reconnects, re-subscribes and
 * gets `table.state`); the others are under the limit and receive the event.
 */
/**
 * Broadcasts held for one socket while the table is asked whether its player is seated; the ask
 * lasts a turn of the table, during which a round sends a few events at most. Past this the
 * socket is closed with 4002 (it reconnects and asks again).
 */
export const pendingEventsMax = 64;

/** A broadcast held for a socket while its seat is checked, with its serial (tableBroadcast.ts). */
interface HeldBroadcast {
  text: string;
  serial: number;
}

export class TableFanout implements TableBroadcaster {
  private readonly watchers = new Map<string, Set<SocketSession>>();
  /** Per table, sockets whose player's seat is being checked, with the broadcasts held for them. */
  private readonly pending = new Map<string, Map<SocketSession, HeldBroadcast[]>>();
  private publisher: TopicPublisher | undefined;
  /** Watchers closed for falling behind, since start. */
  slowClosed = 0;

  constructor(
    private readonly backpressureBytesMax: number,
    /** Frames queued for sockets: written before a broadcast, so none overtakes them. */
    private readonly outbound?: OutboundFrames,
  ) {}

  /** Set once the server is listening; events before that have nobody to reach. */
  attach(publisher: TopicPublisher): void {
    this.publisher = publisher;
  }

  watch(table: string, session: SocketSession): void {
    // Watched live from now on (a join): broadcasts held by a seat check are not sent as well.
    this.#release(table, session);
    if (session.closed || session.tables.has(table)) return;
    let set = this.watchers.get(table);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(table, set);
    }
    set.add(session);
    session.tables.add(table);
    session.subscribeTopic(tableTopic(table));
  }

  /**
   * Holds the table's broadcasts for this socket, sending none, until `confirm` (its player is
   * seated: they go out, then the rest live) or `unwatch` (not seated: they are dropped). A
   * socket of a player not seated never sees a table's events, and a seated one misses none of
   * those sent while the table was being asked.
   */
  watchPending(table: string, session: SocketSession): void {
    if (session.closed || session.tables.has(table)) return;
    let held = this.pending.get(table);
    if (held === undefined) {
      held = new Map();
      this.pending.set(table, held);
    }
    if (!held.has(session)) held.set(session, []);
  }

  /**
   * The player is seated, and the table's state up to broadcast `upTo` was sent: the held
   * broadcasts after it go out in order (the earlier ones the state already shows), and later
   * ones live. Nothing is sent twice when a join made the socket watch meanwhile (nothing is
   * held then).
   */
  confirm(table: string, session: SocketSession, upTo: number): void {
    const events = this.#release(table, session);
    if (session.closed) return;
    // Nothing held: a join watched meanwhile (then this is a no-op), or one that failed stopped
    // the holding; seated either way, the socket watches.
    this.watch(table, session);
    if (events === undefined) return;
    for (const { text, serial } of events) if (serial > upTo) session.send(text);
  }

  #release(table: string, session: SocketSession): HeldBroadcast[] | undefined {
    const held = this.pending.get(table);
    const events = held?.get(session);
    if (held === undefined || events === undefined) return undefined;
    held.delete(session);
    if (held.size === 0) this.pending.delete(table);
    return events;
  }

  unwatch(table: string, session: SocketSession): void {
    this.#release(table, session);
    if (!session.tables.delete(table)) return;
    session.unsubscribeTopic(tableTopic(table));
    const set = this.watchers.get(table);
    set?.delete(session);
    if (set?.size === 0) this.watchers.delete(table);
  }

  /** The socket is gone: forget it everywhere (the server already dropped its subscriptions). */
  forget(session: SocketSession): void {
    for (const table of [...this.pending.keys()]) this.#release(table, session);
    for (const table of session.tables) {
      const set = this.watchers.get(table);
      set?.delete(session);
      if (set?.size === 0) this.watchers.delete(table);
    }
    session.tables.clear();
  }

  watcherCount(table: string): number {
    return this.watchers.get(table)?.size ?? 0;
  }

  publish(table: string, text: string, serial: number): void {
    // Frames queued for sockets go first: none may be overtaken by this broadcast.
    this.outbound?.flush();
    const held = this.pending.get(table);
    if (held !== undefined) {
      for (const [session, events] of held) {
        if (events.length < pendingEventsMax) events.push({ text, serial });
        else {
          this.#release(table, session);
          this.slowClosed += 1;
          session.close(
            closeCodes.slowConsumer,
            "too many table events while its seat was checked",
          );
        }
      }
    }
    const set = this.watchers.get(table);
    if (set === undefined || this.publisher === undefined) return;
    for (const session of set) {
      if (session.closed || session.bufferedBytes() > this.backpressureBytesMax) {
        set.delete(session);
        session.tables.delete(table);
        if (!session.closed) {
          this.slowClosed += 1;
          session.close(closeCodes.slowConsumer, "outbound buffer full");
        }
      }
    }
    this.publisher.publish(tableTopic(table), text);
  }
}

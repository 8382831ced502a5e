import { type TableBroadcaster, tableTopic } from "../cluster/tableBroadcast.ts";
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
export class TableFanout implements TableBroadcaster {
  private readonly watchers = new Map<string, Set<SocketSession>>();
  private publisher: TopicPublisher | undefined;
  /** Watchers closed for falling behind, since start. */
  slowClosed = 0;

  constructor(private readonly backpressureBytesMax: number) {}

  /** Set once the server is listening; events before that have nobody to reach. */
  attach(publisher: TopicPublisher): void {
    this.publisher = publisher;
  }

  watch(table: string, session: SocketSession): void {
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

  unwatch(table: string, session: SocketSession): void {
    if (!session.tables.delete(table)) return;
    session.unsubscribeTopic(tableTopic(table));
    const set = this.watchers.get(table);
    set?.delete(session);
    if (set?.size === 0) this.watchers.delete(table);
  }

  /** The socket is gone: forget it everywhere (the server already dropped its subscriptions). */
  forget(session: SocketSession): void {
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

  publish(table: string, text: string): void {
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

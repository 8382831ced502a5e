/**
 * Delivery of a table's broadcasts (`table.round.*`) to every socket watching that table. On one
 * node this is Bun's pub/sub: one topic per table, the event encoded once and copied to each
 * subscriber by the server. Across nodes each node's gateway receives the event over the bus and
 * publishes it to its own subscribers.
 */
export interface TableBroadcaster {
  /**
   * `serial` orders the broadcasts of one table, and the snapshots its actor hands out
   * (`broadcastsUpTo`): a socket told of the table's state drops the broadcasts held for it
   * that the snapshot already shows.
   */
  publish(table: string, text: string, serial: number): void;
}

/** The pub/sub topic of a table's broadcasts. */
export function tableTopic(table: string): string {
  return `table:${table}`;
}

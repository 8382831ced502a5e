/**
 * Delivery of a table's broadcasts (`table.round.*`) to every socket watching that table. On one
 * node this is Bun's pub/sub: one topic per table, the event encoded once and copied to each
 * subscriber by the server. Across nodes each node's gateway receives the event over the bus and
 * publishes it to its own subscribers.
 */
export interface TableBroadcaster {
  publish(table: string, text: string): void;
}

/** The pub/sub topic of a table's broadcasts. */
export function tableTopic(table: string): string {
  return `table:${table}`;
}

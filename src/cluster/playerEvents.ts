/**
 * Delivery of a player's sequenced messages to wherever that player's sockets are.
 * In one process this is a local fan-out; across nodes it travels over the message bus.
 * Durability is the event log's job (the ledger); this only carries live events.
 */
/**
 * The socket command that produced an event: that socket gets the event as its command's reply
 * instead, so each socket sees each sequenced message once. A pair rather than one string: the
 * check runs for every socket of the player on every event, and comparing the socket's own id
 * string costs nothing where a composed string would be built and searched each time.
 */
export interface CommandOrigin {
  readonly socketId: string;
  /** The command's number on that socket. */
  readonly serial: number;
}

export type PlayerEventListener = (
  seq: number,
  event: string,
  origin: CommandOrigin | undefined,
) => void;

export interface PlayerEventBus {
  publish(playerId: string, seq: number, event: string, origin?: CommandOrigin): void;
  subscribe(playerId: string, listener: PlayerEventListener): () => void;
}

export class LocalPlayerEventBus implements PlayerEventBus {
  private readonly listeners = new Map<string, Set<PlayerEventListener>>();

  publish(playerId: string, seq: number, event: string, origin?: CommandOrigin): void {
    const set = this.listeners.get(playerId);
    if (set === undefined) return;
    for (const listener of set) listener(seq, event, origin);
  }

  subscribe(playerId: string, listener: PlayerEventListener): () => void {
    let set = this.listeners.get(playerId);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(playerId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(playerId);
      if (current === undefined) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(playerId);
    };
  }
}

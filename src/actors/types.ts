/**
 * The actor runtime's public shape. Actors are virtual: addressed by (kind, id), activated on
 * the first message, passivated after an idle time, one message at a time, with a bounded
 * mailbox. Messages are plain data so that a later router can carry them between nodes.
 */

export interface ActorAddress {
  kind: string;
  id: string;
}

/** What an actor instance sees of the runtime. */
export interface ActorContext {
  readonly address: ActorAddress;
  /** Number of times this activation has been restarted after a failure. */
  readonly restarts: number;
}

/**
 * One actor kind. `started` runs before the first message of an activation and after every
 * restart (it loads durable state); `stopped` runs on passivation. `receive` handles one message
 * at a time; what it returns (or throws) answers the `ask`.
 */
export interface Actor<Message, Reply> {
  started?(): Promise<void>;
  receive(message: Message): Promise<Reply>;
  stopped?(): Promise<void>;
  /**
   * Asked before an idle passivation: false keeps the activation (e.g. a table between the
   * messages of a running round). Absent means always.
   */
  mayPassivate?(): boolean;
}

export type ActorFactory<Message, Reply> = (context: ActorContext) => Actor<Message, Reply>;

export interface AskOptions {
  /** Required: a caller never waits without bound. */
  timeoutMs: number;
  /**
   * Idempotency key: while a message with the same key is queued or running on this actor,
   * a second ask with that key waits for the first one's outcome instead of taking a mailbox
   * slot, and gets the same reply (or error).
   */
  dedupeKey?: string;
}

export type SystemEvent =
  | { type: "activated"; address: ActorAddress }
  | { type: "passivated"; address: ActorAddress }
  | { type: "restarted"; address: ActorAddress; restarts: number; error: unknown }
  | { type: "stopped-after-failures"; address: ActorAddress; restarts: number; error: unknown }
  | { type: "dead-letter"; address: ActorAddress; reason: string }
  /** `stopped()` threw during passivation; the activation is removed all the same. */
  | { type: "passivation-failed"; address: ActorAddress; error: unknown };

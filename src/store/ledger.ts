/**
 * The ledger: the only place money moves.
 *
 * Every wallet write is one atomic transaction that
 *   - posts double-entry movements between named accounts (they sum to zero),
 *   - records the command under its idempotency key (playerId, commandId) with the stored reply,
 *   - appends the player's sequenced event (seq = previous seq + 1, which also fences stale
 *     writers: a write whose seq is not exactly the next one is refused),
 *   - optionally records a game round.
 *
 * The money invariants (docs/PROTOCOL.md) every backend keeps, and `audit()` checks:
 *   1. No player balance is ever negative.
 *   2. Every movement is double entry: the sum of all postings over all accounts is zero.
 *   3. A player's balance equals the sum of that player's postings.
 *   4. A command id moves money at most once (unique (playerId, commandId)).
 *   5. Every table bet is, exactly once, either settled in its round or refunded with it.
 *
 * Backends batch the writes of many actors into one transaction (group commit). A write's
 * promise settles only after its transaction is durable. One refused write never fails the
 * other writes of its batch.
 */

import type { TableRoundLink, TableRoundStatus, TableRoundStore } from "./tableRounds.ts";

/** Account names. A player's account is `player:<playerId>`. */
export type AccountName = `player:${string}` | `house:${string}` | "cash" | "promo";

/** The kinds of movement a player sees in wallet history (docs/PROTOCOL.md). */
export type EntryKind = "start" | "deposit" | "withdrawal" | "bet" | "win" | "refund";

export interface Posting {
  account: AccountName;
  /** Signed integer in minor units. Zero postings are not allowed. */
  amount: number;
  /** Set on postings to a player account: what the player's history shows. */
  kind?: EntryKind;
}

export interface RoundRecord {
  roundId: string;
  game: string;
  /** JSON text of the round as `GET /v1/rounds/:roundId` shows it. */
  detail: string;
}

export interface WalletWrite {
  playerId: string;
  /** Idempotency key, unique per player. */
  commandId: string;
  /** Fingerprint of the command's type and parameters: same id + other hash is a conflict. */
  requestHash: string;
  /** Must be exactly the player's current seq + 1 (fencing). */
  seq: number;
  /** Postings in order; sum must be zero; the player's balance may not go below zero at any step. */
  postings: Posting[];
  /** JSON text returned for this command, now and on every retry. */
  reply: string;
  /** JSON text of the sequenced message appended to the player's event log. */
  event: string;
  round?: RoundRecord;
  /**
   * Set on a bet: the stake that counts toward the day's loss limit, as if the bet lost. The
   * store refuses the write (`self_excluded`, `loss_limit`) in the same transaction as the debit.
   */
  wager?: { amount: number };
  /**
   * Set on a table bet, payout or refund: the store checks the round's status in this write's
   * transaction (a bet needs it open) and records a bet against its round (tableRounds.ts).
   */
  tableRound?: TableRoundLink;
}

/** A player's responsible-gaming limits; null means none. */
export interface PlayerLimits {
  /** Epoch ms: bets are refused while now < selfExcludedUntil. */
  selfExcludedUntil: number | null;
  /** Minor units: the most a player may lose net (bets minus wins) in one UTC day. */
  lossLimitPerDay: number | null;
}

export type WriteOutcome =
  | { status: "committed"; balance: number }
  /** The (playerId, commandId) already exists with the same hash: here is its stored reply. */
  | { status: "duplicate"; reply: string }
  /** The (playerId, commandId) already exists with another request hash. */
  | { status: "conflict" }
  /** A posting would take the player's balance below zero. Nothing moved. */
  | { status: "insufficient_funds" }
  /** `seq` was not the next one: another writer got there first. Nothing moved. */
  | { status: "stale_seq"; currentSeq: number }
  /** A wager while the player is self-excluded. Nothing moved. */
  | { status: "self_excluded" }
  /** A wager that, if lost, would take the day's net loss past the player's limit. Nothing moved. */
  | { status: "loss_limit" }
  /**
   * The write's table round is not in the status it needs (a bet on a round that is no longer
   * open, a payout for a round that is not settled); `roundStatus` is null for no such round.
   * Nothing moved.
   */
  | { status: "round_closed"; roundStatus: TableRoundStatus | null };

export interface PlayerState {
  playerId: string;
  balance: number;
  /** Latest sequence number; 0 for a player with no writes. */
  seq: number;
  /** False when the player has never been written. */
  exists: boolean;
}

export interface StoredCommand {
  requestHash: string;
  reply: string;
  seq: number;
}

export interface SequencedEvent {
  seq: number;
  /** JSON text as sent to clients. */
  event: string;
}

export interface HistoryEntry {
  /** The command id (or `round:<roundId>` for a table settlement). */
  id: string;
  kind: EntryKind;
  amount: number;
  balanceAfter: number;
  /** Epoch milliseconds. */
  at: number;
  /** Opaque, ascending per account: the `before` cursor of the next page. */
  cursor: number;
}

export interface RoundView {
  roundId: string;
  playerId: string;
  game: string;
  detail: string;
  at: number;
}

export interface AuditReport {
  ok: boolean;
  /** One line per broken invariant, readable by a human. */
  failures: string[];
  counts: { players: number; postings: number; commands: number };
  elapsedMs: number;
  /** Checks that could not apply to this ledger and why, e.g. no table bets exist yet. */
  notes?: string[];
}

export interface Ledger extends TableRoundStore {
  /** Commits after group commit; rejects only when the outcome is unknown (treat as INTERNAL). */
  write(write: WalletWrite): Promise<WriteOutcome>;
  loadPlayer(playerId: string): Promise<PlayerState>;
  findCommand(playerId: string, commandId: string): Promise<StoredCommand | undefined>;
  /** Events with seq > afterSeq in order, at most `limit`. */
  eventsAfter(playerId: string, afterSeq: number, limit: number): Promise<SequencedEvent[]>;
  /** Newest first; `before` is a cursor from a previous page. */
  history(playerId: string, limit: number, before?: number): Promise<HistoryEntry[]>;
  findRound(roundId: string): Promise<RoundView | undefined>;
  /** Stores the player's limits (durable when it resolves); the next write is checked against them. */
  setLimits(playerId: string, limits: PlayerLimits): Promise<PlayerLimits>;
  /** The player's stored limits; both null when none were ever set. */
  getLimits(playerId: string): Promise<PlayerLimits>;
  audit(): Promise<AuditReport>;
  /** True while the ledger can commit (readiness). */
  healthy(): boolean;
  /** Description of the durability settings, printed by the bench (e.g. "sqlite WAL synchronous=FULL"). */
  durability(): string;
  close(): Promise<void>;
}

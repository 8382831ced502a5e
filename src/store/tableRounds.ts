/**
 * Table rounds as the ledger keeps them (docs/PROTOCOL.md, "Tables"; invariant 5).
 *
 * The ledger, not the table actor, owns a round's life:
 *
 *     open --close--> closed --settle--> settled
 *       \               \
 *        +----void------+----void-----> voided
 *
 * Every arrow is a compare-and-set in the store, so a stale table (a second activation, a node
 * that was presumed dead) can never settle a round that recovery voided, or the reverse. At most
 * one round per table is unfinished (open or closed) at a time: the store refuses to open another.
 *
 * Money moves only through wallet writes (the player's single writer, the player's next seq):
 * - a bet carries `{ kind: "bet" }`: the store records it against its round in the debit's
 *   transaction, and only while the round is open (else the write is `round_closed`);
 * - a payout (`kind: "payout"`, settled rounds) or refund (`kind: "refund"`, voided rounds) is the
 *   player's one settlement of the round, with command id `tableSettlementCommandId(roundId)`, so
 *   the journal's unique (player, command id) makes it idempotent per (round, player).
 *
 * Once every player with bets in a finished round has its settlement, the table marks the round
 * paid. Recovery finds the unfinished and unpaid rounds of a table and completes them.
 */

export type TableRoundStatus = "open" | "closed" | "settled" | "voided";

/** A bet as stored: the kind, its number or third (straight: 0..36; dozen/column: 1..3), stake. */
export interface StoredTableBet {
  /** A roulette bet kind (games/roulette/bets.ts). */
  kind: string;
  /** `number` of a straight bet, `n` of a dozen or column bet, else null. */
  pick: number | null;
  /** Minor units, > 0: the amount the write debits. */
  amount: number;
  /** The bettor's contribution to the draw (docs/PROTOCOL.md, "Fairness"); null when none. */
  clientSeed: string | null;
}

/** Links a wallet write to a table round; the store checks the round's status in the same transaction. */
export type TableRoundLink =
  | { kind: "bet"; table: string; roundId: string; bet: StoredTableBet }
  | { kind: "payout"; table: string; roundId: string }
  | { kind: "refund"; table: string; roundId: string };

/** The status a write of each link kind needs its round in. */
export const requiredRoundStatus: Readonly<Record<TableRoundLink["kind"], TableRoundStatus>> = {
  bet: "open",
  payout: "settled",
  refund: "voided",
};

/**
 * The command id of a player's settlement (payout or refund) of a round. `~` is outside the
 * protocol's id alphabet, so no client command can take this id first; wallet history shows it
 * as `round:<roundId>` (docs/PROTOCOL.md).
 */
export function tableSettlementCommandId(roundId: string): string {
  return `~round:${roundId}`;
}

/**
 * The history id of a stored command id. The server's own entries have ids outside the client
 * alphabet (a leading `~`), which history shows without it: a settlement as `round:<roundId>`,
 * dev mode's starting credit as `start` (docs/PROTOCOL.md).
 */
export function historyIdOf(commandId: string): string {
  return commandId.startsWith("~") ? commandId.slice(1) : commandId;
}

export interface NewTableRound {
  roundId: string;
  table: string;
  game: string;
  /** 64 hex characters; revealed only once the round is settled or voided. */
  serverSeed: string;
  /** Hex SHA-256 of the seed's bytes, published when betting opens. */
  commit: string;
  /** Epoch ms. */
  openedAt: number;
  /** Epoch ms: when the table intends to close betting. */
  closesAt: number;
}

export interface TableRoundRecord extends NewTableRound {
  status: TableRoundStatus;
  /** Sorted client seeds of the round's bets, fixed when it closed; null before. */
  clientSeeds: string[] | null;
  /** The number drawn, set when it settled; null otherwise. */
  result: number | null;
  /** Epoch ms of the close and of the settle/void; null until then. */
  closedAt: number | null;
  finishedAt: number | null;
  /** True once every player with bets in this finished round has its settlement. */
  paid: boolean;
}

/** A player's bet in a round that has no settlement (payout or refund) of that player yet. */
export interface PendingTableBet extends StoredTableBet {
  table: string;
  roundId: string;
}

export interface TableBetRecord extends StoredTableBet {
  playerId: string;
  /** The bet's command id (its idempotency key). */
  commandId: string;
  /** Epoch ms of the bet's commit. */
  at: number;
}

export type CloseOutcome =
  /** The round was open and is now closed; these are its client seeds, sorted. */
  | { closed: true; clientSeeds: string[] }
  /** The round was not open (status, or null when there is no such round); nothing changed. */
  | { closed: false; status: TableRoundStatus | null };

/** The ledger's table-round operations; each one is durable when its promise resolves. */
export interface TableRoundStore {
  /** Records a new open round; false (nothing stored) when the table already has an unfinished round. */
  openTableRound(round: NewTableRound): Promise<boolean>;
  /** open -> closed, fixing the client seeds of the bets recorded so far. */
  closeTableRound(roundId: string): Promise<CloseOutcome>;
  /** closed -> settled with the number drawn (0..36); false when the round was not closed. */
  settleTableRound(roundId: string, result: number): Promise<boolean>;
  /** open or closed -> voided; false when the round was neither. */
  voidTableRound(roundId: string): Promise<boolean>;
  /** Marks a settled or voided round paid; false when it is neither (it is then left alone). */
  markTableRoundPaid(roundId: string): Promise<boolean>;
  tableRound(roundId: string): Promise<TableRoundRecord | undefined>;
  /** The round's bets in the order they committed. */
  tableRoundBets(roundId: string): Promise<TableBetRecord[]>;
  /** The table's rounds that are open, closed, or finished but not paid; oldest first. */
  unfinishedTableRounds(table: string): Promise<TableRoundRecord[]>;
  /**
   * The player's bets in rounds that have not settled with the player yet (open or closed rounds,
   * and finished ones whose payout or refund to the player is still missing), oldest round first
   * and by command id within a round:
   * what the player actor counts against its limits after a restart.
   */
  pendingTableBets(playerId: string): Promise<PendingTableBet[]>;
  /** Rounds of the table that ended voided (fairness: voided rounds are counted and published). */
  voidedTableRoundCount(table: string): Promise<number>;
  /**
   * Seats a player at a table, or unseats them (durable when it resolves; doing it twice changes
   * nothing): a player stays joined until `table.leave`, across reconnects and restarts.
   */
  setTableSeat(table: string, playerId: string, seated: boolean): Promise<void>;
  /** The players seated at the table, in id order. */
  tableSeats(table: string): Promise<string[]>;
}

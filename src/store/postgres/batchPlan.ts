import type { PlayerLimits, WalletWrite, WriteOutcome } from "../ledger.ts";
import { type DayLoss, dayLossAfter, limitRefusal, noLimits } from "../limits.ts";
import { requiredRoundStatus, type TableRoundStatus } from "../tableRounds.ts";
import { balancesAfter, InvalidWriteError, validateWrite } from "../validateWrite.ts";

/**
 * Decides every write of a batch, in order, from what the transaction read under lock: the
 * players' (balance, seq) and the stored commands among the batch's ids. Pure, so the rules are
 * the embedded backend's exactly and are tested without a database. Checks run in this order:
 * shape, idempotency, table round status, fencing (seq must be current + 1), limits, funds; a
 * retry gets its stored reply before any refusal (so a bet accepted before its round closed is
 * still answered). A write sees every earlier write of its batch. A round's status cannot change
 * while the batch transaction holds its FOR SHARE lock, so planning from the read is exact.
 *
 * The rows of the committed writes come out as arrays (journal, postings, players, table bets),
 * inserted set-wise by one statement: one round trip whatever the batch size.
 */

export interface PlayerRow extends Partial<DayLoss> {
  balance: number;
  seq: number;
}

/** What the transaction read besides players and commands: limits, table rounds, its clock. */
export interface ReadContext {
  limits: Map<string, PlayerLimits>;
  /** Status of each table round the batch's writes name; a round missing here does not exist. */
  rounds: Map<string, TableRoundStatus>;
  /** The transaction's `now()` in epoch ms: one clock for every node. */
  nowMs: number;
}

export interface StoredRow {
  requestHash: string;
  reply: string;
}

/** Per write: its outcome, or why it was refused as a programmer error (nothing of it stored). */
export type WriteResult = { outcome: WriteOutcome } | { error: string };

/** Stored commands by player, then command id. */
export type CommandIndex = Map<string, Map<string, StoredRow>>;

/** A journal row; writeStatements.ts sends each field as one typed array per column. */
export interface JournalRow {
  p: string;
  s: number;
  c: string;
  h: string;
  r: string;
  /** null when the event is the reply itself. */
  e: string | null;
  ri: string | null;
  g: string | null;
  d: string | null;
}

/** A posting row: (p, s) names its journal row, n its place in the write. */
export interface PostingRow {
  p: string;
  s: number;
  n: number;
  a: string;
  k: string | null;
  m: number;
  b: number | null;
}

/** A table bet row (table_bets), keyed like its journal row. */
export interface TableBetRow {
  p: string;
  c: string;
  ri: string;
  k: string;
  pk: number | null;
  m: number;
  cs: string | null;
}

/** A player's state after the batch. */
export interface PlayerStateRow {
  p: string;
  b: number;
  s: number;
  ld: number;
  dl: number;
}

export interface BatchPlan {
  results: WriteResult[];
  /** Rows of the committed writes, journal in batch order. */
  journal: JournalRow[];
  postings: PostingRow[];
  /** One row per player the batch changed: its final state. */
  players: PlayerStateRow[];
  /** One row per committed table bet. */
  bets: TableBetRow[];
}

export function commandIndexAdd(
  index: CommandIndex,
  playerId: string,
  commandId: string,
  row: StoredRow,
): void {
  let commands = index.get(playerId);
  if (commands === undefined) {
    commands = new Map();
    index.set(playerId, commands);
  }
  commands.set(commandId, row);
}

function storedOutcome(index: CommandIndex, write: WalletWrite): WriteOutcome | undefined {
  const stored = index.get(write.playerId)?.get(write.commandId);
  if (stored === undefined) return undefined;
  return stored.requestHash === write.requestHash
    ? { status: "duplicate", reply: stored.reply }
    : { status: "conflict" };
}

/** `players` and `commands` are read under the players' locks; both are updated as writes commit. */
export function planBatch(
  writes: readonly WalletWrite[],
  players: Map<string, PlayerRow>,
  commands: CommandIndex,
  context: ReadContext = { limits: new Map(), rounds: new Map(), nowMs: Date.now() },
): BatchPlan {
  const plan: BatchPlan = { results: [], journal: [], postings: [], players: [], bets: [] };
  const changed = new Set<string>();
  for (const write of writes) {
    try {
      const outcome = decide(write, players, commands, plan, context);
      if (outcome.status === "committed") changed.add(write.playerId);
      plan.results.push({ outcome });
    } catch (error) {
      if (!(error instanceof InvalidWriteError)) throw error;
      plan.results.push({ error: error.message });
    }
  }
  for (const playerId of changed) {
    const state = players.get(playerId) as PlayerRow;
    plan.players.push({
      p: playerId,
      b: state.balance,
      s: state.seq,
      ld: state.lossDay ?? 0,
      dl: state.dayLoss ?? 0,
    });
  }
  return plan;
}

function decide(
  write: WalletWrite,
  players: Map<string, PlayerRow>,
  commands: CommandIndex,
  plan: BatchPlan,
  context: ReadContext,
): WriteOutcome {
  validateWrite(write);
  const player = players.get(write.playerId) ?? { balance: 0, seq: 0 };
  const loss: DayLoss = { lossDay: player.lossDay ?? 0, dayLoss: player.dayLoss ?? 0 };
  // Idempotency answers before fencing, limits and funds: a retry gets its stored reply.
  const stored = storedOutcome(commands, write);
  if (stored !== undefined) return stored;
  const link = write.tableRound;
  if (link !== undefined) {
    const roundStatus = context.rounds.get(link.roundId) ?? null;
    if (roundStatus !== requiredRoundStatus[link.kind])
      return { status: "round_closed", roundStatus };
  }
  if (write.seq !== player.seq + 1) return { status: "stale_seq", currentSeq: player.seq };
  const limits = context.limits.get(write.playerId) ?? noLimits;
  const limited = limitRefusal(write, limits, loss, context.nowMs);
  if (limited !== undefined) return limited;
  const after = balancesAfter(write, player.balance);
  if (after === undefined) return { status: "insufficient_funds" };
  const { round } = write;
  plan.journal.push({
    p: write.playerId,
    s: write.seq,
    c: write.commandId,
    h: write.requestHash,
    r: write.reply,
    // A spin's event is its reply: stored once.
    e: write.event === write.reply ? null : write.event,
    ri: round?.roundId ?? null,
    g: round?.game ?? null,
    d: round?.detail ?? null,
  });
  write.postings.forEach((posting, n) => {
    const balanceAfter = after.perPosting[n] ?? null;
    // Only the player's own postings carry a kind and a running balance.
    const kind = balanceAfter === null ? null : (posting.kind ?? null);
    plan.postings.push({
      p: write.playerId,
      s: write.seq,
      n,
      a: posting.account,
      k: kind,
      m: posting.amount,
      b: balanceAfter,
    });
  });
  if (link?.kind === "bet") {
    const { bet } = link;
    plan.bets.push({
      p: write.playerId,
      c: write.commandId,
      ri: link.roundId,
      k: bet.kind,
      pk: bet.pick,
      m: bet.amount,
      cs: bet.clientSeed,
    });
  }
  players.set(write.playerId, {
    balance: after.balance,
    seq: write.seq,
    ...dayLossAfter(write, loss, context.nowMs),
  });
  commandIndexAdd(commands, write.playerId, write.commandId, {
    requestHash: write.requestHash,
    reply: write.reply,
  });
  return { status: "committed", balance: after.balance };
}

import {
  type TableConfig,
  tableBetsPerRoundMaxDefault,
  tableSeatsMaxDefault,
} from "../../config/tables.ts";
import type { TableBroadcaster } from "../cluster/tableBroadcast.ts";
import { CroupierError } from "../errors.ts";
import { commitOf, drawNumber } from "../games/roulette/fairness.ts";
import type { TableRoundRecord, TableRoundStore } from "../store/tableRounds.ts";
import { tableBetsPerRoundMax } from "./tableBetLimits.ts";
import { type PlayerSettlement, settleFinishedRound } from "./tableSettlement.ts";
import type { Actor, ActorContext } from "./types.ts";

/**
 * A live roulette table: one actor per configured table, addressed ("table", tableId).
 *
 * It runs the round cycle  open (betting window) -> closed -> result -> settled -> next round,
 * keeps the joined players, and broadcasts each step to the table's topic. The ledger owns the
 * rounds (store/tableRounds.ts): every step is a compare-and-set there first, and only then
 * announced, so what clients see is always what the ledger holds.
 *
 * Bets do not pass through here: a player's actor asks `betTarget` (seated? which round is
 * open?) and then debits the bet in the ledger, which records it only while the round is still
 * open. So the table never waits on a player, and a bet racing the close is either in the round
 * or refused with nothing debited. Both are bounded per table: `seatsMax` players seated at once,
 * and `betsPerRoundMax` bets in one round over all players (counted here, see `betTarget`).
 *
 * Rounds run while someone is joined; an empty table finishes its round and goes idle.
 * On activation (node start, or the first message after a passivation or restart) it recovers:
 * rounds left open or closed by a crash are voided and refunded, and finished rounds whose
 * players are not all paid are completed. Running that twice pays nobody twice.
 */

export type TableMessage =
  | { type: "join"; playerId: string }
  | { type: "leave"; playerId: string }
  /** Is the player joined? (a reconnecting socket re-subscribes and gets `table.state`) */
  | { type: "membership"; playerId: string }
  /** A bet is about to be debited: is the player seated, and which round takes it? */
  | { type: "betTarget"; playerId: string; commandId: string; roundId?: string }
  | { type: "summary" }
  /** The table's own timers. */
  | { type: "step"; step: "close" | "open" | "recover"; roundId?: string }
  /** A settlement fell short while the table was idle: recover unless a round cycle took over. */
  | { type: "retrySettlements" };

export type TableReply =
  | { type: "state"; state: TableState }
  /** `broadcastsUpTo`: the serial of the last broadcast the state already reflects. */
  | { type: "membership"; member: boolean; state: TableState; broadcastsUpTo: number }
  | { type: "betTarget"; roundId: string }
  | { type: "left" }
  | { type: "summary"; players: number }
  | { type: "done" };

/** The snapshot in `table.joined` and `table.state`. */
export interface TableState {
  table: string;
  game: string;
  minBet: number;
  maxBet: number;
  bettingWindowMs: number;
  resultDisplayMs: number;
  players: number;
  round: {
    roundId: string;
    status: "open" | "closed" | "settled";
    commit: string;
    closesAt: string;
    clientSeeds?: string[];
    result?: { number: number };
    serverSeed?: string;
  } | null;
  /** The latest numbers drawn, newest first. */
  recentResults: number[];
}

/** A settled round's credits, published off the game path (leaderboards, analytics). */
export interface SettledRoundEvent {
  table: string;
  roundId: string;
  credits: { playerId: string; amount: number }[];
}

export interface TableActorDeps {
  ledger: TableRoundStore;
  tables: ReadonlyMap<string, TableConfig>;
  broadcast: TableBroadcaster;
  /** Writes one player's settlement of a round through the player's actor. */
  settlePlayer(table: TableConfig, roundId: string, settlement: PlayerSettlement): Promise<void>;
  /** Sends this table a message without waiting (its timers); false when it was not accepted. */
  tellSelf(tableId: string, message: TableMessage): boolean;
  /** Must not block or throw. */
  onRoundSettled?: (event: SettledRoundEvent) => void;
  /** A round of this table ended (settled, or voided by recovery); for metrics. */
  onRoundFinished?: (tableId: string, outcome: "settled" | "voided") => void;
  /** `what` is a fixed name of the step (it keys the log's windows); `roundId` when there is one. */
  onError?: (tableId: string, what: string, error: unknown, roundId?: string) => void;
  newServerSeed(): string;
  now(): number;
  settlementConcurrencyMax: number;
  /**
   * Whether the player has an open socket where this table's events go (this node's sockets:
   * one node serves a ledger until placement routes a table's players to the table's node).
   */
  isPresent(playerId: string): boolean;
  /** A seat whose player has not been present for this long is released, as by `table.leave`. */
  seatAbsenceMs: number;
}

export const tableActorKind = "table";

/**
 * Serial of the last table broadcast made in this process, over all tables and activations: it
 * only grows, so a snapshot and the broadcasts of its table compare whatever restarted between.
 */
let broadcastSerial = 0;

/** Numbers kept for `recentResults`. */
const recentResultsMax = 12;
/** After a failed step the table recovers (voids and refunds) and tries again this much later. */
const recoverRetryMs = 1_000;
/** A timer whose message found the mailbox full tries again this much later. */
const timerRetryMs = 20;
/** Attempts to settle a round before leaving it to the next recovery, and the pause between. */
const settlementAttemptsMax = 5;
const settlementRetryDelayMs = 200;

interface LiveRound {
  roundId: string;
  status: "open" | "closed" | "settled";
  serverSeed: string;
  commit: string;
  closesAtMs: number;
  /** Bet targets counted for this round: at least the bets the ledger holds in it. */
  betsReserved: number;
  /** The command ids each player reserved in this round (at most its cap of bets per round). */
  reservedByPlayer: Map<string, Set<string>>;
  clientSeeds?: string[];
  result?: number;
}

export class TableActor implements Actor<TableMessage, TableReply> {
  private readonly tableId: string;
  private readonly table: TableConfig;
  private readonly seatsMax: number;
  private readonly betsPerRoundMax: number;
  private readonly members = new Set<string>();
  /** Seated players seen without a socket, since when (epoch ms); checked as each round opens. */
  private readonly absentSince = new Map<string, number>();
  private round: LiveRound | undefined;
  /** True while a timer or a round is due: the table is not idle. */
  private cycling = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly recent: number[] = [];
  /** Finished rounds whose settlement is running now. */
  private readonly settling = new Set<string>();
  /**
   * A settlement fell short: the next round starts with a recovery, and an idle table asks for
   * one of its own (recoverRetryMs later, again while it keeps failing), so players who left are
   * paid without anyone joining.
   */
  private needsRecovery = false;
  /** Pending `retrySettlements` (set outside a mailbox turn, so it never touches the cycle). */
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stoppedForGood = false;
  /** Settlements running now, so that `stopped` can wait for them. */
  private readonly settlements = new Set<Promise<unknown>>();

  constructor(
    context: ActorContext,
    private readonly deps: TableActorDeps,
  ) {
    this.tableId = context.address.id;
    const table = deps.tables.get(this.tableId);
    if (table === undefined) throw new CroupierError("UNKNOWN_TABLE", `no table "${this.tableId}"`);
    this.table = table;
    this.seatsMax = table.seatsMax ?? tableSeatsMaxDefault;
    this.betsPerRoundMax = table.betsPerRoundMax ?? tableBetsPerRoundMaxDefault;
  }

  /**
   * Seats outlive a restart (the ledger holds them): a table with seated players takes up its
   * round cycle again at once, after recovering what the previous activation left. The seats
   * loaded are the ones `join` let in under `seatsMax` (only a lowered `seatsMax` finds more; they
   * stay seated, and nobody new joins until enough have left).
   */
  async started(): Promise<void> {
    for (const playerId of await this.deps.ledger.tableSeats(this.tableId))
      this.members.add(playerId);
    await this.recover();
    if (this.members.size > 0 && !this.cycling) await this.guarded("open", () => this.openRound());
  }

  /**
   * Never while players are joined, a round is running, a settlement is under way or one that
   * fell short waits for its retry or recovery.
   */
  mayPassivate(): boolean {
    return (
      this.members.size === 0 &&
      !this.cycling &&
      this.settling.size === 0 &&
      this.retryTimer === undefined &&
      !this.needsRecovery
    );
  }

  async stopped(): Promise<void> {
    // An open round stays open in the ledger, and an unpaid one stays unpaid: the next
    // activation (here or on another node) voids, refunds and pays them.
    this.stoppedForGood = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // Settlements make no new attempt from now on; the one running is let finish, so nothing
    // of this table still uses the ledger once it has stopped (a node closes its ledger next).
    await Promise.allSettled(this.settlements);
  }

  async receive(message: TableMessage): Promise<TableReply> {
    // Anything the player asks of the table shows them present, between the rounds' looks too
    // (a visit between two round openings must restart the absence clock).
    if ("playerId" in message) this.absentSince.delete(message.playerId);
    switch (message.type) {
      case "join":
        if (!this.members.has(message.playerId)) {
          // Checked before the seat is stored, and in the same turn that adds it (one message at
          // a time), so a refusal stores nothing and racing joins cannot pass the bound together.
          if (this.members.size >= this.seatsMax) {
            throw new CroupierError(
              "LIMIT_EXCEEDED",
              `table "${this.tableId}" is full: ${this.seatsMax} seats`,
            );
          }
          await this.storeSeat(message.playerId, true);
          this.members.add(message.playerId);
        }
        if (!this.cycling) await this.guarded("open", () => this.openRound());
        return { type: "state", state: this.state() };
      case "leave":
        if (!this.members.has(message.playerId)) throw notSeated(this.tableId);
        await this.storeSeat(message.playerId, false);
        this.members.delete(message.playerId);
        this.absentSince.delete(message.playerId);
        return { type: "left" };
      case "membership":
        return {
          type: "membership",
          member: this.members.has(message.playerId),
          state: this.state(),
          broadcastsUpTo: broadcastSerial,
        };
      case "betTarget":
        return {
          type: "betTarget",
          roundId: this.betTarget(message.playerId, message.commandId, message.roundId),
        };
      case "summary":
        return { type: "summary", players: this.members.size };
      case "step":
        await this.step(message.step, message.roundId);
        return { type: "done" };
      case "retrySettlements":
        // A running cycle recovers when it opens its next round (and owns the timer meanwhile).
        if (!this.cycling) await this.recoverIfNeeded();
        return { type: "done" };
    }
  }

  /**
   * A seat change is stored before it takes effect here. A failure is answered BUSY (no money
   * moves with a seat; a retry stores it again harmlessly) rather than thrown, which would restart
   * the table and void its open round.
   */
  private async storeSeat(playerId: string, seated: boolean): Promise<void> {
    try {
      await this.deps.ledger.setTableSeat(this.tableId, playerId, seated);
    } catch (error) {
      this.deps.onError?.(this.tableId, seated ? "seat" : "unseat", error);
      throw new CroupierError("BUSY", "the seat could not be stored; try again", { cause: error });
    }
  }

  private betTarget(playerId: string, commandId: string, roundId: string | undefined): string {
    if (!this.members.has(playerId)) throw notSeated(this.tableId);
    const round = this.round;
    if (round === undefined || round.status !== "open" || this.deps.now() >= round.closesAtMs) {
      throw new CroupierError("BETTING_CLOSED", "no round is taking bets at this table now");
    }
    if (roundId !== undefined && roundId !== round.roundId) {
      throw new CroupierError("BETTING_CLOSED", `round ${roundId} is not the open round`);
    }
    // The bound on bets per round is kept by reservation: every bet of a round passes here before
    // its ledger write (the ledger records a bet only under a round id this answered), so the
    // round can never hold more bets than were reserved. A reservation whose write then fails or
    // is refused (or a retry of an id already in the round) stays counted: the count can only be
    // too high, which refuses early, never too low. Bets racing each other are counted one mailbox
    // turn at a time. Only the activation that opened a round hands out its id (openRound makes a
    // fresh one; a new activation after a restart or on another node voids any round it finds open
    // and never takes bets for it), so the count starts at 0 with the round and needs no reload
    // from the ledger.
    // A player's reservations count each command id once (a retry of a bet reserves nothing
    // more) and up to the bets one player may hold in a round, no further: the player actor
    // refuses any bet past that, so the count still bounds the round's bets, while one player's
    // retries and refused bets cannot use up the round for everyone else.
    let mine = round.reservedByPlayer.get(playerId);
    if (mine?.has(commandId) || (mine?.size ?? 0) >= tableBetsPerRoundMax) return round.roundId;
    if (round.betsReserved >= this.betsPerRoundMax) {
      throw new CroupierError(
        "LIMIT_EXCEEDED",
        `round ${round.roundId} at table "${this.tableId}" is full: ${this.betsPerRoundMax} bets`,
      );
    }
    if (mine === undefined) {
      mine = new Set();
      round.reservedByPlayer.set(playerId, mine);
    }
    mine.add(commandId);
    round.betsReserved += 1;
    return round.roundId;
  }

  private async step(step: "close" | "open" | "recover", roundId: string | undefined) {
    if (step === "close") {
      if (this.round?.roundId === roundId && this.round?.status === "open") {
        await this.guarded("close", () => this.closeAndSettle());
      }
      return;
    }
    this.cycling = false;
    if (step === "recover") {
      this.needsRecovery = false;
      await this.guarded("recover", () => this.recover());
      if (this.cycling) return; // it failed again and scheduled the next attempt
    }
    await this.releaseAbsentSeats();
    if (this.members.size > 0) {
      await this.guarded("open", () => this.openRound());
      return;
    }
    this.round = undefined;
    // A settlement that fell short while the cycle ran was left to the next round's opening;
    // with nobody seated there is none, so the table recovers now, before it goes idle.
    await this.recoverIfNeeded();
  }

  /**
   * A seat lasts until `table.leave` (docs/PROTOCOL.md), but a player who closed the tab for good
   * never sends one: such seats would fill the table (`seatsMax`) and keep it running rounds for
   * nobody. A seat whose player has been away `seatAbsenceMs` is released between rounds, as a
   * leave would; bets already placed stay in their rounds and are settled as always. A failure to
   * store the release leaves the seat for the next round's look.
   */
  private async releaseAbsentSeats(): Promise<void> {
    const nowMs = this.deps.now();
    for (const playerId of this.members) {
      if (this.deps.isPresent(playerId)) {
        this.absentSince.delete(playerId);
        continue;
      }
      const since = this.absentSince.get(playerId);
      if (since === undefined) {
        this.absentSince.set(playerId, nowMs);
        continue;
      }
      if (nowMs - since < this.deps.seatAbsenceMs) continue;
      try {
        await this.deps.ledger.setTableSeat(this.tableId, playerId, false);
      } catch (error) {
        this.deps.onError?.(this.tableId, "release an absent seat", error);
        return;
      }
      this.members.delete(playerId);
      this.absentSince.delete(playerId);
    }
  }

  /** Runs the recovery a settlement that fell short asked for, if one did. */
  private async recoverIfNeeded(): Promise<void> {
    if (!this.needsRecovery) return;
    this.needsRecovery = false;
    await this.guarded("recover", () => this.recover());
  }

  /** A failed step leaves the cycle to a recovery a little later; the table never stops for good. */
  private async guarded(what: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      this.deps.onError?.(this.tableId, what, error);
      this.round = undefined;
      this.cycling = true;
      this.schedule("recover", this.deps.now() + recoverRetryMs);
    }
  }

  private async openRound(): Promise<void> {
    if (this.needsRecovery) {
      this.needsRecovery = false;
      await this.recover();
    }
    const serverSeed = this.deps.newServerSeed();
    const openedAt = this.deps.now();
    const next = {
      roundId: Bun.randomUUIDv7(),
      table: this.tableId,
      game: this.table.game,
      serverSeed,
      commit: commitOf(serverSeed),
      openedAt,
      closesAt: openedAt + this.table.bettingWindowMs,
    };
    if (!(await this.deps.ledger.openTableRound(next))) {
      // The ledger still holds an unfinished round of this table (a crash, or a stale
      // activation elsewhere): void and refund it, then open ours.
      await this.recover();
      if (!(await this.deps.ledger.openTableRound(next))) {
        throw new Error("the ledger still holds an unfinished round of this table");
      }
    }
    this.round = {
      roundId: next.roundId,
      status: "open",
      serverSeed,
      commit: next.commit,
      closesAtMs: next.closesAt,
      betsReserved: 0,
      reservedByPlayer: new Map(),
    };
    this.cycling = true;
    this.publish({
      type: "table.round.open",
      table: this.tableId,
      roundId: next.roundId,
      closesAt: new Date(next.closesAt).toISOString(),
      commit: next.commit,
    });
    this.schedule("close", next.closesAt, next.roundId);
  }

  private async closeAndSettle(): Promise<void> {
    const round = this.round as LiveRound;
    // From here on betTarget refuses; the ledger refuses whatever still races in.
    round.status = "closed";
    const closed = await this.deps.ledger.closeTableRound(round.roundId);
    if (!closed.closed) {
      throw new Error(`round ${round.roundId} could not close: it is ${closed.status}`);
    }
    round.clientSeeds = closed.clientSeeds;
    const closedEvent = {
      type: "table.round.closed",
      table: this.tableId,
      roundId: round.roundId,
      clientSeeds: closed.clientSeeds,
    };
    const number = drawNumber(round.serverSeed, round.roundId, closed.clientSeeds);
    const decidedAt = this.deps.now();
    if (!(await this.deps.ledger.settleTableRound(round.roundId, number))) {
      this.publish(closedEvent);
      throw new Error(`round ${round.roundId} could not settle: it is no longer closed`);
    }
    // The settlement is durable: now the result may be seen. `closed` goes out in the same turn,
    // just before it: writing one broadcast to thousands of sockets holds the event loop for tens
    // of milliseconds, and the durable settle would otherwise wait behind that write.
    this.deps.onRoundFinished?.(this.tableId, "settled");
    round.status = "settled";
    round.result = number;
    this.recent.unshift(number);
    this.recent.length = Math.min(this.recent.length, recentResultsMax);
    this.publish(closedEvent);
    this.publish({
      type: "table.round.result",
      table: this.tableId,
      roundId: round.roundId,
      result: { number },
      serverSeed: round.serverSeed,
      decidedAt: new Date(decidedAt).toISOString(),
    });
    // Payouts start after the result has been written to the sockets, not in the same turn.
    const roundId = round.roundId;
    setTimeout(() => this.settleInBackground(roundId, number), 0);
    this.schedule("open", this.deps.now() + this.table.resultDisplayMs);
  }

  /** Voids what a crash left open, and completes the settlement of finished rounds. */
  private async recover(): Promise<void> {
    const rounds = await this.deps.ledger.unfinishedTableRounds(this.tableId);
    for (const round of rounds) {
      if (round.roundId === this.round?.roundId && round.status === "open") continue;
      let current: TableRoundRecord | undefined = round;
      if (round.status === "open" || round.status === "closed") {
        if (await this.deps.ledger.voidTableRound(round.roundId)) {
          this.publish({ type: "table.round.voided", table: this.tableId, roundId: round.roundId });
          this.deps.onRoundFinished?.(this.tableId, "voided");
          current = { ...round, status: "voided" };
        } else {
          current = await this.deps.ledger.tableRound(round.roundId);
        }
      }
      if (current === undefined) continue;
      if (current.status === "voided") this.settleInBackground(current.roundId, null);
      else if (current.status === "settled")
        this.settleInBackground(current.roundId, current.result);
    }
  }

  private settleInBackground(roundId: string, result: number | null): void {
    if (this.settling.has(roundId)) return;
    this.settling.add(roundId);
    const settled = settleFinishedRound(roundId, result, {
      ledger: this.deps.ledger,
      settlePlayer: (settlement) => this.deps.settlePlayer(this.table, roundId, settlement),
      concurrencyMax: this.deps.settlementConcurrencyMax,
      attemptsMax: settlementAttemptsMax,
      retryDelayMs: settlementRetryDelayMs,
      stopped: () => this.stoppedForGood,
    });
    this.settlements.add(settled);
    void settled.then((report) => {
      this.settlements.delete(settled);
      // Runs outside a mailbox turn; it only touches these fields, which no step awaits on.
      this.settling.delete(roundId);
      if (!report.complete) {
        // Stopped: the next activation recovers what is missing.
        if (this.stoppedForGood) return;
        this.needsRecovery = true;
        this.deps.onError?.(this.tableId, "settling round", report.lastError, roundId);
        this.scheduleSettlementRetry();
        return;
      }
      if (result !== null) {
        this.deps.onRoundSettled?.({
          table: this.tableId,
          roundId,
          credits: [...report.credits].map(([playerId, amount]) => ({ playerId, amount })),
        });
      }
    });
  }

  /**
   * Outside a mailbox turn (a settlement's callback), so it only sends the table a message later;
   * the turn that handles it decides whether the round cycle already covers the recovery.
   */
  private scheduleSettlementRetry(): void {
    if (this.stoppedForGood || this.retryTimer !== undefined) return;
    this.tellSelfLater({ type: "retrySettlements" }, recoverRetryMs, (timer) => {
      this.retryTimer = timer;
    });
  }

  private schedule(step: "close" | "open" | "recover", atMs: number, roundId?: string): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    const message: TableMessage =
      roundId === undefined ? { type: "step", step } : { type: "step", step, roundId };
    this.tellSelfLater(message, Math.max(0, atMs - this.deps.now()), (timer) => {
      this.timer = timer;
    });
  }

  /**
   * Sends this table `message` after `delayMs`. A full mailbox must not lose it: it is tried
   * again every `timerRetryMs` until taken, or until the table has stopped. `track` is handed
   * the pending timer each time, and undefined once there is none.
   */
  private tellSelfLater(
    message: TableMessage,
    delayMs: number,
    track: (timer: ReturnType<typeof setTimeout> | undefined) => void,
  ): void {
    const fire = () => {
      if (this.stoppedForGood || this.deps.tellSelf(this.tableId, message)) track(undefined);
      else track(setTimeout(fire, timerRetryMs));
    };
    track(setTimeout(fire, delayMs));
  }

  private publish(event: Record<string, unknown>): void {
    broadcastSerial += 1;
    this.deps.broadcast.publish(this.tableId, JSON.stringify(event), broadcastSerial);
  }

  private state(): TableState {
    const round = this.round;
    const table = this.table;
    return {
      table: this.tableId,
      game: table.game,
      minBet: table.minBet,
      maxBet: table.maxBet,
      bettingWindowMs: table.bettingWindowMs,
      resultDisplayMs: table.resultDisplayMs,
      players: this.members.size,
      round:
        round === undefined
          ? null
          : {
              roundId: round.roundId,
              status: round.status,
              commit: round.commit,
              closesAt: new Date(round.closesAtMs).toISOString(),
              ...(round.clientSeeds === undefined ? {} : { clientSeeds: round.clientSeeds }),
              ...(round.result === undefined
                ? {}
                : { result: { number: round.result }, serverSeed: round.serverSeed }),
            },
      recentResults: [...this.recent],
    };
  }
}

function notSeated(tableId: string): CroupierError {
  return new CroupierError("NOT_SEATED", `the player has not joined table "${tableId}"`);
}

export function tableActorFactory(deps: TableActorDeps): (context: ActorContext) => TableActor {
  return (context) => new TableActor(context, deps);
}

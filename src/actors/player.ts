import type { TableConfig } from "../../config/tables.ts";
import type { CommandOrigin, PlayerEventBus } from "../cluster/playerEvents.ts";
import { assertNever, CroupierError } from "../errors.ts";
import type { RandomSource } from "../games/rng.ts";
import { payoutMultiplier, type RouletteBet } from "../games/roulette/bets.ts";
import { rouletteBetOf, storedBetOf } from "../games/roulette/settlement.ts";
import { winPerTotalBetMax } from "../games/slot/paytable.ts";
import { slotGame } from "../games/slot/play.ts";
import type {
  Ledger,
  PlayerLimits,
  Posting,
  RoundRecord,
  WalletWrite,
  WriteOutcome,
} from "../store/ledger.ts";
import { isExcluded } from "../store/limits.ts";
import type { PendingTableBet } from "../store/tableRounds.ts";
import { tableBetWrite, tableSettlementWrite } from "../store/tableWrites.ts";
import {
  cashRequestHash,
  spinRequestHash,
  type TableBetRequest,
  tableBetRequestHash,
} from "./commandFingerprints.ts";
import { slotRoundWrite } from "./slotRound.ts";
import type { TableMessage, TableReply } from "./table.ts";
import { tableBetsPerRoundMax } from "./tableBetLimits.ts";
import type { Actor, ActorContext } from "./types.ts";

/** What a roulette bet credits if it wins: the stake and its winnings. */
function bestCreditOf(bet: RouletteBet, amount: number): number {
  return amount * (payoutMultiplier(bet) + 1);
}

/** The win of a stored spin reply, if it is one. */
function storedWin(reply: string): number | undefined {
  const parsed = JSON.parse(reply) as { type?: unknown; win?: unknown };
  return parsed.type === "spin.result" && typeof parsed.win === "number" ? parsed.win : undefined;
}

/** A write was fenced off by another activation's: the actor has reloaded; run the command again. */
class WalletMovedElsewhere extends Error {
  override readonly name = "WalletMovedElsewhere";
}

export { tableBetsPerRoundMax };

/** Messages a player actor handles. Plain data, so a router can carry them between nodes. */
export type PlayerMessage =
  /** The balance and seq; with `fresh`, read from the ledger first (another node may have written). */
  | { type: "state"; fresh?: boolean }
  | { type: "spin"; id: string; game: string; bet: number; origin?: CommandOrigin }
  | { type: "deposit"; id: string; amount: number; origin?: CommandOrigin }
  | { type: "withdrawal"; id: string; amount: number; origin?: CommandOrigin }
  /** The player's limits were just stored: refresh the hint (answered like `state`). */
  | { type: "limits"; limits: PlayerLimits }
  | ({ type: "tableBet"; origin?: CommandOrigin } & TableBetRequest)
  /** The table's settlement of a round for this player: one payout or refund, idempotent. */
  | {
      type: "tableSettlement";
      table: string;
      game: string;
      roundId: string;
      kind: "payout" | "refund";
      amount: number;
    };

export type PlayerReply =
  | { type: "state"; balance: number; seq: number }
  /**
   * `reply` is the JSON text of the command's answer, identical on every retry. `fresh` is true
   * only for the execution that moved the money; `origin` is the socket that asked for it.
   */
  | {
      type: "command";
      reply: string;
      seq: number;
      fresh: boolean;
      origin: CommandOrigin | undefined;
    };

export interface PlayerActorDeps {
  ledger: Ledger;
  events: PlayerEventBus;
  random: RandomSource;
  slotBetMin: number;
  slotBetMax: number;
  slotBetStep: number;
  /** Dev mode: credited once to a player with no ledger history; 0 disables. */
  startingBalance: number;
  now: () => number;
  /** Told of each settled round's win after its commit; must not block or throw (leaderboards). */
  onSettled?: (playerId: string, win: number) => void;
  tables: ReadonlyMap<string, TableConfig>;
  /** Asks a table actor, wherever it lives; errors are CroupierErrors. */
  askTable(tableId: string, message: TableMessage): Promise<TableReply>;
}

export const playerActorKind = "player";

/** Not a valid client id (`~` is outside the id alphabet), so it can never collide with one. */
const startCommandId = "~start";

/**
 * How long the actor trusts its copy of the player's limits. The copy is only a hint that spares
 * the store a write it would refuse anyway; the ledger checks every wager in its transaction.
 */
export const limitsHintTtlMs = 2_000;

/** The single writer of one player's wallet. */
export class PlayerActor implements Actor<PlayerMessage, PlayerReply> {
  private readonly playerId: string;
  private balance = 0;
  private seq = 0;
  /**
   * The player's bets in rounds not yet settled with the player, per round: how many (at most
   * `tableBetsPerRoundMax` in one round, which bounds its client seeds and broadcasts) and their
   * best-case credit. Loaded from the ledger with the balance, so a restart forgets none, and kept
   * up as bets commit and settlements arrive. Every command that credits leaves room for their
   * sum under 2^53-1 (`hasRoomFor`), so every payout can always be credited. Made on the first
   * bet: most players never bet at a table, and 100,000 idle actors must stay small.
   */
  private openRounds: Map<string, { count: number; bestCredit: number }> | undefined;
  private limitsHint: { limits: PlayerLimits; atMs: number } | undefined;

  constructor(
    context: ActorContext,
    private readonly deps: PlayerActorDeps,
  ) {
    this.playerId = context.address.id;
  }

  /** Loads durable state; runs on activation and after every restart, so memory never outlives a doubt. */
  async started(): Promise<void> {
    await this.reload();
    if (this.seq === 0 && this.deps.startingBalance > 0) await this.creditStartingBalance();
  }

  /** Not `async`: a command's own promise is handed back as is, without one more to adopt it. */
  receive(message: PlayerMessage): Promise<PlayerReply> {
    switch (message.type) {
      case "state":
        if (message.fresh) return this.refresh().then(() => this.state());
        return Promise.resolve(this.state());
      case "spin":
        return this.onceMore(() => this.spin(message));
      case "deposit":
        return this.onceMore(() => this.deposit(message));
      case "withdrawal":
        return this.onceMore(() => this.withdraw(message));
      case "limits":
        this.limitsHint = { limits: message.limits, atMs: this.deps.now() };
        return Promise.resolve(this.state());
      case "tableBet":
        return this.onceMore(() => this.tableBet(message));
      case "tableSettlement":
        return this.onceMore(() => this.tableSettlement(message));
      default:
        return assertNever(message);
    }
  }

  private state(): PlayerReply {
    return { type: "state", balance: this.balance, seq: this.seq };
  }

  /**
   * Runs a command, and once more should another activation have written first (it has just been
   * reloaded); a second such race leaves the outcome to a retry with the same id.
   */
  private onceMore(command: () => Promise<PlayerReply>): Promise<PlayerReply> {
    return command().catch((error: unknown) => {
      if (!(error instanceof WalletMovedElsewhere)) throw error;
      return command().catch((again: unknown) => {
        if (!(again instanceof WalletMovedElsewhere)) throw again;
        throw new CroupierError(
          "INTERNAL",
          "the wallet keeps moving elsewhere; retry with the same id to learn the outcome",
        );
      });
    });
  }

  /**
   * A balance too small for `amount` may only be this activation's old copy (another node wrote
   * since): read again before refusing. Refusals are rare, so this costs the common path nothing.
   */
  private async stillShort(amount: number): Promise<boolean> {
    await this.refresh();
    return amount > this.balance;
  }

  /** Reads the balance and seq again; the unsettled bets only when they moved (one read if not). */
  private async refresh(): Promise<void> {
    const state = await this.deps.ledger.loadPlayer(this.playerId);
    if (state.seq === this.seq && state.balance === this.balance) return;
    this.load(state, await this.deps.ledger.pendingTableBets(this.playerId));
  }

  private async reload(): Promise<void> {
    const [state, pendingBets] = await Promise.all([
      this.deps.ledger.loadPlayer(this.playerId),
      this.deps.ledger.pendingTableBets(this.playerId),
    ]);
    this.load(state, pendingBets);
  }

  private load(state: { balance: number; seq: number }, pendingBets: PendingTableBet[]): void {
    this.balance = state.balance;
    this.seq = state.seq;
    this.openRounds = undefined;
    for (const bet of pendingBets)
      this.countBet(bet.roundId, bestCreditOf(rouletteBetOf(bet), bet.amount));
  }

  /**
   * The balance, less `debit`, plus `creditMax` and what every unsettled table bet may still win,
   * stays a safe integer: whatever happens, every credit can be made.
   */
  private hasRoomFor(creditMax: number, debit = 0): boolean {
    let unsettled = 0;
    if (this.openRounds !== undefined)
      for (const open of this.openRounds.values()) unsettled += open.bestCredit;
    return this.balance - debit + creditMax + unsettled <= Number.MAX_SAFE_INTEGER;
  }

  private countBet(roundId: string, bestCredit: number): void {
    this.openRounds ??= new Map();
    const open = this.openRounds.get(roundId);
    if (open === undefined) this.openRounds.set(roundId, { count: 1, bestCredit });
    else {
      open.count += 1;
      open.bestCredit += bestCredit;
    }
  }

  private roundSettled(roundId: string): void {
    this.openRounds?.delete(roundId);
  }

  private async creditStartingBalance(): Promise<void> {
    const amount = this.deps.startingBalance;
    const seq = this.seq + 1;
    const event = JSON.stringify({
      type: "balance",
      seq,
      balance: this.balance + amount,
      reason: "adjustment",
    });
    const outcome = await this.deps.ledger.write({
      playerId: this.playerId,
      commandId: startCommandId,
      requestHash: `start:${amount}`,
      seq,
      postings: [
        { account: "promo", amount: -amount },
        { account: this.account(), amount, kind: "start" },
      ],
      reply: event,
      event,
    });
    // Any refusal means another writer got there first: the ledger now holds the truth.
    if (outcome.status === "committed") this.applyCommitted(seq, outcome.balance, event, undefined);
    else await this.reload();
  }

  private async spin(message: Extract<PlayerMessage, { type: "spin" }>): Promise<PlayerReply> {
    const requestHash = spinRequestHash(message.game, message.bet);
    if (message.game !== slotGame.id) {
      return this.refuse(
        message.id,
        requestHash,
        new CroupierError("UNKNOWN_GAME", `no game "${message.game}"`),
      );
    }
    const { slotBetMin, slotBetMax, slotBetStep } = this.deps;
    if (message.bet < slotBetMin || message.bet > slotBetMax || message.bet % slotBetStep !== 0) {
      const reason = `bet must be ${slotBetMin}..${slotBetMax} in steps of ${slotBetStep}`;
      return this.refuse(message.id, requestHash, new CroupierError("LIMIT_EXCEEDED", reason));
    }
    if (this.excludedByHint()) {
      return this.refuse(message.id, requestHash, selfExcludedError());
    }
    if (message.bet > this.balance && (await this.stillShort(message.bet))) {
      return this.refuse(
        message.id,
        requestHash,
        new CroupierError("INSUFFICIENT_FUNDS", "bet exceeds balance"),
      );
    }
    // Decided before the draw, on the best case: a refusal that depended on the outcome would let
    // a retry draw again.
    if (!this.hasRoomFor(message.bet * winPerTotalBetMax, message.bet)) {
      return this.refuse(
        message.id,
        requestHash,
        new CroupierError(
          "LIMIT_EXCEEDED",
          "if this spin won its most, the balance would pass 2^53-1 minor units",
        ),
      );
    }
    const outcome = slotGame.play(message.bet, this.deps.random);
    const seq = this.seq + 1;
    const { reply, postings, round } = slotRoundWrite({
      playerId: this.playerId,
      commandId: message.id,
      seq,
      bet: message.bet,
      balanceBefore: this.balance,
      outcome,
      atMs: this.deps.now(),
    });
    const written = await this.write(message.id, requestHash, seq, postings, reply, reply, round, {
      amount: message.bet,
    });
    const settled = await this.settle(written, seq, reply, message.origin);
    if (settled.type === "command") {
      // A stored reply answers a retry: its win may never have been recorded (the first answer
      // was lost with its commit in doubt). Recording it again is harmless: a board keeps each
      // player's best.
      const win = settled.fresh ? outcome.win : storedWin(settled.reply);
      if (win !== undefined) this.deps.onSettled?.(this.playerId, win);
    }
    return settled;
  }

  private async tableBet(
    message: Extract<PlayerMessage, { type: "tableBet" }>,
  ): Promise<PlayerReply> {
    const { id, table: tableId, amount } = message;
    const clientSeed = message.clientSeed ?? null;
    const requestHash = tableBetRequestHash(message);
    const table = this.deps.tables.get(tableId);
    if (table === undefined) {
      return this.refuse(
        id,
        requestHash,
        new CroupierError("UNKNOWN_TABLE", `no table "${tableId}"`),
      );
    }
    if (amount < table.minBet || amount > table.maxBet) {
      const reason = `a bet at this table must be ${table.minBet}..${table.maxBet}`;
      return this.refuse(id, requestHash, new CroupierError("LIMIT_EXCEEDED", reason));
    }
    if (this.excludedByHint()) return this.refuse(id, requestHash, selfExcludedError());
    if (amount > this.balance && (await this.stillShort(amount))) {
      return this.refuse(
        id,
        requestHash,
        new CroupierError("INSUFFICIENT_FUNDS", "bet exceeds balance"),
      );
    }
    let roundId: string;
    try {
      const target = await this.deps.askTable(tableId, {
        type: "betTarget",
        playerId: this.playerId,
        commandId: id,
        ...(message.roundId === undefined ? {} : { roundId: message.roundId }),
      });
      if (target.type !== "betTarget") throw new Error(`table answered ${target.type}`);
      roundId = target.roundId;
    } catch (error) {
      // Not seated, betting closed or the round full of bets: true only if this id never went
      // through before (a retry of a bet already in a full round gets its stored reply).
      if (
        error instanceof CroupierError &&
        (error.code === "NOT_SEATED" ||
          error.code === "BETTING_CLOSED" ||
          error.code === "LIMIT_EXCEEDED")
      ) {
        return this.refuse(id, requestHash, error);
      }
      throw error;
    }
    if ((this.openRounds?.get(roundId)?.count ?? 0) >= tableBetsPerRoundMax) {
      return this.refuse(
        id,
        requestHash,
        new CroupierError(
          "LIMIT_EXCEEDED",
          `at most ${tableBetsPerRoundMax} bets of one player in one round`,
        ),
      );
    }
    const bestCredit = bestCreditOf(message.bet, amount);
    if (!this.hasRoomFor(bestCredit, amount)) {
      return this.refuse(
        id,
        requestHash,
        new CroupierError(
          "LIMIT_EXCEEDED",
          "if this bet and the player's other unsettled bets win, the balance would pass 2^53-1 minor units",
        ),
      );
    }
    const seq = this.seq + 1;
    const reply = JSON.stringify({
      type: "table.bet.accepted",
      id,
      seq,
      table: tableId,
      roundId,
      balance: this.balance - amount,
    });
    const written = await this.writeOrDoubt(
      tableBetWrite({
        playerId: this.playerId,
        commandId: id,
        requestHash,
        seq,
        table: tableId,
        game: table.game,
        roundId,
        bet: storedBetOf(message.bet, amount, clientSeed),
        reply,
      }),
    );
    if (written.status === "committed") this.countBet(roundId, bestCredit);
    return this.settle(written, seq, reply, message.origin);
  }

  private async tableSettlement(
    message: Extract<PlayerMessage, { type: "tableSettlement" }>,
  ): Promise<PlayerReply> {
    const seq = this.seq + 1;
    const balance = this.balance + message.amount;
    const event = JSON.stringify(
      message.kind === "payout"
        ? {
            type: "table.payout",
            seq,
            table: message.table,
            roundId: message.roundId,
            win: message.amount,
            balance,
          }
        : { type: "balance", seq, balance, reason: "refund" },
    );
    const written = await this.writeOrDoubt(
      tableSettlementWrite({
        playerId: this.playerId,
        seq,
        table: message.table,
        game: message.game,
        roundId: message.roundId,
        kind: message.kind,
        amount: message.amount,
        event,
      }),
    );
    const settled = await this.settle(written, seq, event, undefined);
    // Paid, refunded or lost, now or before: the round holds nothing more for this player.
    this.roundSettled(message.roundId);
    return settled;
  }

  private async deposit(
    message: Extract<PlayerMessage, { type: "deposit" }>,
  ): Promise<PlayerReply> {
    const requestHash = cashRequestHash("deposit", message.amount);
    if (!this.hasRoomFor(message.amount)) {
      // The ledger would refuse it too, but as a failed write: answered here, it is a definite
      // refusal that leaves the id unused, not an outcome in doubt. What unsettled table bets
      // may still win counts too: their payouts must always fit.
      return this.refuse(
        message.id,
        requestHash,
        new CroupierError(
          "LIMIT_EXCEEDED",
          "the balance, with what unsettled table bets may win, would exceed 2^53-1 minor units",
        ),
      );
    }
    const postings: Posting[] = [
      { account: "cash", amount: -message.amount },
      { account: this.account(), amount: message.amount, kind: "deposit" },
    ];
    return this.moveCash(message, requestHash, this.balance + message.amount, postings);
  }

  private async withdraw(
    message: Extract<PlayerMessage, { type: "withdrawal" }>,
  ): Promise<PlayerReply> {
    const requestHash = cashRequestHash("withdrawal", message.amount);
    if (message.amount > this.balance && (await this.stillShort(message.amount))) {
      return this.refuse(
        message.id,
        requestHash,
        new CroupierError("INSUFFICIENT_FUNDS", "amount exceeds balance"),
      );
    }
    const postings: Posting[] = [
      { account: this.account(), amount: -message.amount, kind: "withdrawal" },
      { account: "cash", amount: message.amount },
    ];
    return this.moveCash(message, requestHash, this.balance - message.amount, postings);
  }

  private async moveCash(
    message: { type: "deposit" | "withdrawal"; id: string; origin?: CommandOrigin },
    requestHash: string,
    balanceAfter: number,
    postings: Posting[],
  ): Promise<PlayerReply> {
    const seq = this.seq + 1;
    const reply = JSON.stringify({ balance: balanceAfter });
    const event = JSON.stringify({
      type: "balance",
      seq,
      balance: balanceAfter,
      reason: message.type,
    });
    const written = await this.write(
      message.id,
      requestHash,
      seq,
      postings,
      reply,
      event,
      undefined,
    );
    return this.settle(written, seq, reply, message.origin, event);
  }

  /** Writes; a commit in doubt becomes INTERNAL (and the runtime restarts this actor). */
  private writeOrDoubt(write: WalletWrite): Promise<WriteOutcome> {
    return this.deps.ledger.write(write).catch((error: unknown) => {
      if (error instanceof CroupierError && error.code !== "INTERNAL") throw error; // e.g. BUSY: nothing moved
      throw new CroupierError("INTERNAL", "the outcome is unknown; retry with the same id", {
        cause: error,
      });
    });
  }

  private write(
    commandId: string,
    requestHash: string,
    seq: number,
    postings: Posting[],
    reply: string,
    event: string,
    round: RoundRecord | undefined,
    wager?: { amount: number },
  ): Promise<WriteOutcome> {
    const write: WalletWrite = {
      playerId: this.playerId,
      commandId,
      requestHash,
      seq,
      postings,
      reply,
      event,
      round,
    };
    // Assigned, not spread: a spread copies the object again on every spin.
    if (wager !== undefined) write.wager = wager;
    return this.writeOrDoubt(write);
  }

  /** Turns the ledger's answer into the command's reply. */
  private async settle(
    written: WriteOutcome,
    seq: number,
    reply: string,
    origin: CommandOrigin | undefined,
    event: string = reply,
  ): Promise<PlayerReply> {
    switch (written.status) {
      case "committed":
        this.applyCommitted(seq, written.balance, event, origin);
        return { type: "command", reply, seq, fresh: true, origin };
      case "duplicate":
        return {
          type: "command",
          reply: written.reply,
          seq: seqOf(written.reply),
          fresh: false,
          origin: undefined,
        };
      case "conflict":
        throw new CroupierError(
          "IDEMPOTENCY_CONFLICT",
          "this id was used with another command or other parameters",
        );
      case "insufficient_funds":
        await this.reload();
        throw new CroupierError("INSUFFICIENT_FUNDS", "amount exceeds balance");
      case "self_excluded":
        await this.refreshLimitsHint();
        throw selfExcludedError();
      case "loss_limit":
        throw new CroupierError(
          "LIMIT_EXCEEDED",
          "this bet would take the day's net loss past the player's loss limit",
        );
      case "round_closed":
        throw new CroupierError(
          "BETTING_CLOSED",
          written.roundStatus === "open" || written.roundStatus === null
            ? "the round does not take this write"
            : `the round is ${written.roundStatus}`,
        );
      case "stale_seq":
        // Another activation (another node) wrote first: this write moved nothing. The command
        // runs again once on the state just read (`onceMore`): the same id in flight there then
        // ends as one write, answered as a duplicate here.
        await this.reload();
        throw new WalletMovedElsewhere();
      default:
        return assertNever(written);
    }
  }

  /** True only while a fresh copy of the limits says the player is excluded now. */
  private excludedByHint(): boolean {
    const hint = this.limitsHint;
    if (hint === undefined) return false;
    const now = this.deps.now();
    if (now - hint.atMs > limitsHintTtlMs) {
      this.limitsHint = undefined;
      return false;
    }
    return isExcluded(hint.limits, now);
  }

  private async refreshLimitsHint(): Promise<void> {
    try {
      this.limitsHint = {
        limits: await this.deps.ledger.getLimits(this.playerId),
        atMs: this.deps.now(),
      };
    } catch {
      // Only a hint: without it the next bet simply asks the store.
      this.limitsHint = undefined;
    }
  }

  private applyCommitted(
    seq: number,
    balance: number,
    event: string,
    origin: CommandOrigin | undefined,
  ): void {
    if (seq !== this.seq + 1) throw new Error(`sequence jumped from ${this.seq} to ${seq}`);
    this.seq = seq;
    this.balance = balance;
    this.deps.events.publish(this.playerId, seq, event, origin);
  }

  /**
   * A refusal that depends on current state is only true if the id was never used: a retry of a
   * command that once succeeded must get its stored reply, whatever the balance is now.
   */
  private async refuse(
    commandId: string,
    requestHash: string,
    error: CroupierError,
  ): Promise<PlayerReply> {
    const stored = await this.deps.ledger.findCommand(this.playerId, commandId);
    if (stored === undefined) throw error;
    if (stored.requestHash !== requestHash) {
      throw new CroupierError(
        "IDEMPOTENCY_CONFLICT",
        "this id was used with another command or other parameters",
      );
    }
    return {
      type: "command",
      reply: stored.reply,
      seq: stored.seq,
      fresh: false,
      origin: undefined,
    };
  }

  private account(): `player:${string}` {
    return `player:${this.playerId}`;
  }
}

function selfExcludedError(): CroupierError {
  return new CroupierError("SELF_EXCLUDED", "the player is excluded from play");
}

function seqOf(reply: string): number {
  const parsed: unknown = JSON.parse(reply);
  const seq = (parsed as { seq?: unknown }).seq;
  return typeof seq === "number" ? seq : 0;
}

export function playerActorFactory(deps: PlayerActorDeps): (context: ActorContext) => PlayerActor {
  return (context) => new PlayerActor(context, deps);
}

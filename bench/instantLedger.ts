/**
 * A stand-in for the ledger, for one measurement only: what the gateway, the actors and the game
 * cost on the node's main thread when storing a spin costs nothing. It keeps balances in memory,
 * answers each write a timer tick later (about as late as a fast group commit), stores nothing
 * durably and checks nothing beyond what a spin needs. Never a ledger: it lives in bench/, and no
 * configuration can select it (bench/instantNode.ts is its only user).
 */
import { CroupierError } from "../src/errors.ts";
import type {
  AuditReport,
  Ledger,
  PlayerLimits,
  PlayerState,
  SequencedEvent,
  StoredCommand,
  WalletWrite,
  WriteOutcome,
} from "../src/store/ledger.ts";
import type {
  CloseOutcome,
  PendingTableBet,
  TableBetRecord,
  TableRoundRecord,
} from "../src/store/tableRounds.ts";

interface Player {
  balance: number;
  seq: number;
}

/** Commands remembered at most (a bench run writes far fewer); past it the oldest are forgotten. */
const commandsMax = 2_000_000;
/** How late a write is answered, ms (a group commit of the real ledger takes a few). */
const answerDelayMs = 1;

function unsupported(what: string): Promise<never> {
  return Promise.reject(new CroupierError("INTERNAL", `the instant bench ledger has no ${what}`));
}

export class InstantLedger implements Ledger {
  readonly #players = new Map<string, Player>();
  /** By player, then command id: no key strings built per write. */
  readonly #commands = new Map<string, Map<string, StoredCommand>>();
  #commandCount = 0;
  #answers: (() => void)[] = [];

  write(write: WalletWrite): Promise<WriteOutcome> {
    let commands = this.#commands.get(write.playerId);
    if (commands === undefined) {
      commands = new Map();
      this.#commands.set(write.playerId, commands);
    }
    const stored = commands.get(write.commandId);
    const player = this.#players.get(write.playerId) ?? { balance: 0, seq: 0 };
    let outcome: WriteOutcome;
    if (stored !== undefined) {
      outcome =
        stored.requestHash === write.requestHash
          ? { status: "duplicate", reply: stored.reply }
          : { status: "conflict" };
    } else if (write.seq !== player.seq + 1) {
      outcome = { status: "stale_seq", currentSeq: player.seq };
    } else {
      let balance = player.balance;
      for (const posting of write.postings)
        if (posting.account === `player:${write.playerId}`) balance += posting.amount;
      if (balance < 0) outcome = { status: "insufficient_funds" };
      else {
        this.#players.set(write.playerId, { balance, seq: write.seq });
        if (this.#commandCount >= commandsMax) {
          for (const ids of this.#commands.values()) ids.clear();
          this.#commandCount = 0;
        }
        this.#commandCount += 1;
        commands.set(write.commandId, {
          requestHash: write.requestHash,
          reply: write.reply,
          seq: write.seq,
        });
        outcome = { status: "committed", balance };
      }
    }
    const { promise, resolve } = Promise.withResolvers<WriteOutcome>();
    this.#answers.push(() => resolve(outcome));
    if (this.#answers.length === 1) {
      setTimeout(() => {
        const answers = this.#answers;
        this.#answers = [];
        for (const answer of answers) answer();
      }, answerDelayMs);
    }
    return promise;
  }

  async loadPlayer(playerId: string): Promise<PlayerState> {
    const player = this.#players.get(playerId);
    return {
      playerId,
      balance: player?.balance ?? 0,
      seq: player?.seq ?? 0,
      exists: player !== undefined,
    };
  }

  async findCommand(playerId: string, commandId: string): Promise<StoredCommand | undefined> {
    return this.#commands.get(playerId)?.get(commandId);
  }

  async eventsAfter(): Promise<SequencedEvent[]> {
    return [];
  }

  history(): Promise<never> {
    return unsupported("history");
  }

  async findRound(): Promise<undefined> {
    return undefined;
  }

  setLimits(): Promise<never> {
    return unsupported("limits");
  }

  async getLimits(): Promise<PlayerLimits> {
    return { selfExcludedUntil: null, lossLimitPerDay: null };
  }

  async audit(): Promise<AuditReport> {
    return {
      ok: false,
      failures: ["the instant bench ledger keeps no journal to audit"],
      counts: { players: this.#players.size, postings: 0, commands: this.#commandCount },
      elapsedMs: 0,
    };
  }

  healthy(): boolean {
    return true;
  }

  durability(): string {
    return "instant in-memory stand-in (bench only, nothing durable)";
  }

  async close(): Promise<void> {}

  openTableRound(): Promise<never> {
    return unsupported("table rounds");
  }

  closeTableRound(): Promise<CloseOutcome> {
    return unsupported("table rounds");
  }

  settleTableRound(): Promise<never> {
    return unsupported("table rounds");
  }

  voidTableRound(): Promise<never> {
    return unsupported("table rounds");
  }

  markTableRoundPaid(): Promise<never> {
    return unsupported("table rounds");
  }

  async tableRound(): Promise<TableRoundRecord | undefined> {
    return undefined;
  }

  async tableRoundBets(): Promise<TableBetRecord[]> {
    return [];
  }

  async unfinishedTableRounds(): Promise<TableRoundRecord[]> {
    return [];
  }

  async pendingTableBets(): Promise<PendingTableBet[]> {
    return [];
  }

  async voidedTableRoundCount(): Promise<number> {
    return 0;
  }

  async setTableSeat(): Promise<void> {
    return unsupported("table seats");
  }

  async tableSeats(): Promise<string[]> {
    return [];
  }
}

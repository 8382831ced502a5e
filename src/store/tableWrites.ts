import type { Posting, WalletWrite } from "./ledger.ts";
import { type StoredTableBet, tableSettlementCommandId } from "./tableRounds.ts";

/**
 * The wallet writes of a table round (pure): a bet, and a player's settlement (payout or refund).
 * The player actor and the tests build them here, so the shape the audit expects has one source.
 */

export function houseAccountOf(game: string): `house:${string}` {
  return `house:${game}`;
}

export interface TableBetInput {
  playerId: string;
  commandId: string;
  requestHash: string;
  seq: number;
  table: string;
  game: string;
  roundId: string;
  bet: StoredTableBet;
  /** The sequenced reply (also the event). */
  reply: string;
}

/** A bet: the stake from the player to the game's house, recorded against the open round. */
export function tableBetWrite(input: TableBetInput): WalletWrite {
  const { playerId, bet } = input;
  return {
    playerId,
    commandId: input.commandId,
    requestHash: input.requestHash,
    seq: input.seq,
    postings: [
      { account: `player:${playerId}`, amount: -bet.amount, kind: "bet" },
      { account: houseAccountOf(input.game), amount: bet.amount },
    ],
    reply: input.reply,
    event: input.reply,
    wager: { amount: bet.amount },
    tableRound: { kind: "bet", table: input.table, roundId: input.roundId, bet },
  };
}

export interface TableSettlementInput {
  playerId: string;
  seq: number;
  table: string;
  game: string;
  roundId: string;
  kind: "payout" | "refund";
  /** Minor units credited; 0 for a payout whose bets all lost. */
  amount: number;
  /** The sequenced event (also the stored reply). */
  event: string;
}

/** A player's one settlement of a round: the credit from the house (none when 0). */
export function tableSettlementWrite(input: TableSettlementInput): WalletWrite {
  const { playerId, amount, roundId } = input;
  const postings: Posting[] =
    amount === 0
      ? []
      : [
          { account: houseAccountOf(input.game), amount: -amount },
          {
            account: `player:${playerId}`,
            amount,
            kind: input.kind === "payout" ? "win" : "refund",
          },
        ];
  return {
    playerId,
    commandId: tableSettlementCommandId(roundId),
    requestHash: `${input.kind}:${roundId}:${amount}`,
    seq: input.seq,
    postings,
    reply: input.event,
    event: input.event,
    tableRound: { kind: input.kind, table: input.table, roundId },
  };
}

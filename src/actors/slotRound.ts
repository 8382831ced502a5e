import type { SlotOutcome } from "../games/slot/play.ts";
import { slotGame } from "../games/slot/play.ts";
import type { Posting, RoundRecord } from "../store/ledger.ts";

/** What one settled slot spin writes: the reply (also the sequenced event), postings and round. */
export interface SlotRoundWrite {
  reply: string;
  postings: Posting[];
  round: RoundRecord;
}

export interface SlotRoundInput {
  playerId: string;
  commandId: string;
  seq: number;
  bet: number;
  balanceBefore: number;
  outcome: SlotOutcome;
  atMs: number;
}

/**
 * Builds the ledger write of a spin (pure). Double entry: the bet moves from the player to the
 * game's house account, the win (if any) back from the house to the player.
 */
export function slotRoundWrite(input: SlotRoundInput): SlotRoundWrite {
  const { playerId, commandId, seq, bet, outcome } = input;
  // Time-ordered (UUIDv7): new rounds append to the end of the round index instead of landing
  // on random pages, which keeps each group commit small.
  const roundId = Bun.randomUUIDv7();
  const balanceAfter = input.balanceBefore - bet + outcome.win;
  const reply = JSON.stringify({
    type: "spin.result",
    id: commandId,
    seq,
    roundId,
    bet,
    win: outcome.win,
    balance: balanceAfter,
    outcome: {
      stops: outcome.stops,
      window: outcome.window,
      lines: outcome.lines,
      scatter: outcome.scatter,
    },
  });
  const player = `player:${playerId}` as const;
  const house = `house:${slotGame.id}` as const;
  const postings: Posting[] = [
    { account: player, amount: -bet, kind: "bet" },
    { account: house, amount: bet },
  ];
  if (outcome.win > 0) {
    postings.push(
      { account: house, amount: -outcome.win },
      { account: player, amount: outcome.win, kind: "win" },
    );
  }
  const round: RoundRecord = {
    roundId,
    game: slotGame.id,
    // Only what cannot be recomputed: the window and line wins follow from the stops and the
    // paytable version, and are derived again when the round is shown.
    detail: JSON.stringify({
      roundId,
      game: slotGame.id,
      playerId,
      id: commandId,
      bet,
      win: outcome.win,
      stops: outcome.stops,
      paytableVersion: outcome.paytableVersion,
      settlement: { seq, balanceAfter, atMs: input.atMs },
    }),
  };
  return { reply, postings, round };
}

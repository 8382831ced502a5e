/**
 * Spin-shaped ledger writes for the ledger benches: the same postings, reply size and round
 * record a real spin writes, so the benches measure what the node asks of a ledger.
 */
import type { Ledger, Posting, WalletWrite } from "../src/store/ledger.ts";

/** ~300 bytes of reply, as a spin.result with its outcome is on the wire. */
const outcomeText = JSON.stringify({ stops: [3, 17, 9, 22, 5], lines: [[1, 1, 1, 1, 1]] });

/** A spin of `bet` that wins 2.5 x bet every third seq. */
export function spinWrite(
  playerId: string,
  seq: number,
  bet: number,
  roundId: string,
): WalletWrite {
  const id = `spin-${playerId}-${seq}`;
  const win = seq % 3 === 0 ? Math.floor(bet * 2.5) : 0;
  const postings: Posting[] = [
    { account: `player:${playerId}`, amount: -bet, kind: "bet" },
    { account: "house:slot", amount: bet },
  ];
  if (win > 0) {
    postings.push(
      { account: "house:slot", amount: -win },
      { account: `player:${playerId}`, amount: win, kind: "win" },
    );
  }
  const reply = JSON.stringify({
    type: "spin.result",
    id,
    seq,
    roundId,
    bet,
    win,
    outcome: outcomeText,
  }).padEnd(300);
  return {
    playerId,
    commandId: id,
    requestHash: `spin:slot:${bet}`,
    seq,
    postings,
    reply,
    event: reply,
    round: { roundId, game: "slot", detail: reply.slice(0, 160) },
    wager: { amount: bet },
  };
}

/** The first write of a bench player: a cash credit large enough for every spin of the run. */
export function fundingWrite(playerId: string, amount: number): WalletWrite {
  const reply = JSON.stringify({ type: "balance", seq: 1, balance: amount });
  return {
    playerId,
    commandId: "start",
    requestHash: "start",
    seq: 1,
    postings: [
      { account: "cash", amount: -amount },
      { account: `player:${playerId}`, amount, kind: "start" },
    ],
    reply,
    event: reply,
  };
}

/**
 * Closed loop: every player writes a spin, awaits its outcome and writes the next (seq 2, 3, ...,
 * after its funding write) until `durationMs` is up. Returns each write's latency.
 */
export async function closedLoopSpins(
  ledger: Pick<Ledger, "write">,
  players: readonly string[],
  durationMs: number,
  spin: (playerId: string, seq: number) => WalletWrite,
): Promise<number[]> {
  const latenciesMs: number[] = [];
  const endMs = performance.now() + durationMs;
  await Promise.all(
    players.map(async (playerId) => {
      for (let seq = 2; performance.now() < endMs; seq++) {
        const issuedMs = performance.now();
        const outcome = await ledger.write(spin(playerId, seq));
        if (outcome.status !== "committed")
          throw new Error(`${playerId} ${seq}: ${outcome.status}`);
        latenciesMs.push(performance.now() - issuedMs);
      }
    }),
  );
  return latenciesMs;
}

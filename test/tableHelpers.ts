import { createHash, createHmac } from "node:crypto";
import type { TableConfig } from "../config/tables.ts";
import type { RecordingSocket } from "./harness.ts";

/**
 * Test-side knowledge of roulette and of the table protocol, written from docs/PROTOCOL.md and
 * independent of the server's own code, so the tests check the server rather than repeat it.
 */

export function fastTable(id: string, overrides: Partial<TableConfig> = {}): TableConfig {
  return {
    id,
    game: "roulette",
    minBet: 10,
    maxBet: 5_000,
    bettingWindowMs: 1_000,
    resultDisplayMs: 200,
    ...overrides,
  };
}

const reds = new Set([1, 3, 5, 7, 9, 12, 14, 16, 18, 19, 21, 23, 25, 27, 30, 32, 34, 36]);

export type WireBet =
  | { kind: "straight"; number: number }
  | { kind: "red" | "black" | "even" | "odd" | "low" | "high" }
  | { kind: "dozen" | "column"; n: 1 | 2 | 3 };

/** What PROTOCOL.md says a bet credits when the ball lands on `n` (stake included). */
export function expectedCredit(bet: WireBet, amount: number, n: number): number {
  let odds = 0;
  let wins = false;
  switch (bet.kind) {
    case "straight":
      wins = bet.number === n;
      odds = 35;
      break;
    case "red":
      wins = reds.has(n);
      odds = 1;
      break;
    case "black":
      wins = n !== 0 && !reds.has(n);
      odds = 1;
      break;
    case "even":
      wins = n !== 0 && n % 2 === 0;
      odds = 1;
      break;
    case "odd":
      wins = n % 2 === 1;
      odds = 1;
      break;
    case "low":
      wins = n >= 1 && n <= 18;
      odds = 1;
      break;
    case "high":
      wins = n >= 19 && n <= 36;
      odds = 1;
      break;
    case "dozen":
      wins = n >= 12 * (bet.n - 1) + 1 && n <= 12 * bet.n;
      odds = 2;
      break;
    case "column":
      wins = n !== 0 && n % 3 === bet.n % 3;
      odds = 2;
      break;
  }
  return wins ? amount + amount * odds : 0;
}

/** Every bet kind of the protocol at least once. */
export const everyBetKind: WireBet[] = [
  { kind: "straight", number: 0 },
  { kind: "straight", number: 17 },
  { kind: "red" },
  { kind: "black" },
  { kind: "even" },
  { kind: "odd" },
  { kind: "low" },
  { kind: "high" },
  { kind: "dozen", n: 1 },
  { kind: "dozen", n: 2 },
  { kind: "dozen", n: 3 },
  { kind: "column", n: 1 },
  { kind: "column", n: 2 },
  { kind: "column", n: 3 },
];

/** The Fairness section of PROTOCOL.md, computed from the revealed seed alone. */
export function recomputeNumber(
  serverSeed: string,
  roundId: string,
  clientSeeds: string[],
): number {
  const key = Buffer.from(serverSeed, "hex");
  const message = `${roundId}:${[...clientSeeds].sort().join(",")}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const input = attempt === 0 ? message : `${message}:${attempt}`;
    const digest = createHmac("sha256", key).update(input).digest();
    for (let offset = 0; offset < 32; offset += 4) {
      const word = digest.readUInt32BE(offset);
      if (word < 4294967289) return word % 37;
    }
  }
  throw new Error("no word qualified in 100 attempts");
}

export function commitOfSeed(serverSeed: string): string {
  return createHash("sha256").update(Buffer.from(serverSeed, "hex")).digest("hex");
}

export async function joinTable(socket: RecordingSocket, table: string, id = `join-${table}`) {
  socket.send({ type: "table.join", id, table });
  const joined = await socket.waitFor((m) => m.id === id);
  if (joined.type !== "table.joined") throw new Error(`join answered ${JSON.stringify(joined)}`);
  return joined;
}

type OpenRound = { roundId: string; closesAt: string; commit: string };

/** The round open in a broadcast or in a joined/state snapshot, if any. */
function openRoundIn(message: any, table: string): OpenRound | undefined {
  if (message.table !== table) return undefined;
  if (message.type === "table.round.open") return message;
  if (message.type === "table.joined" || message.type === "table.state") {
    const round = message.state?.round;
    if (round?.status === "open") return round;
  }
  return undefined;
}

/** The open round (already recorded or still to come) with at least `marginMs` of betting left. */
export async function nextOpenRound(
  socket: RecordingSocket,
  table: string,
  marginMs = 400,
  timeoutMs = 10_000,
): Promise<OpenRound> {
  const open = (m: unknown) => {
    const round = openRoundIn(m, table);
    return round !== undefined && Date.parse(round.closesAt) - Date.now() > marginMs;
  };
  return openRoundIn(await socket.waitFor(open, timeoutMs), table) as OpenRound;
}

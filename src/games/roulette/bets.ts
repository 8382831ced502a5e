/**
 * European single-zero roulette bets (docs/PROTOCOL.md, "Tables"): what a bet looks like on the
 * wire, which pockets it covers and what it pays. Pure; the table actor validates amounts
 * against its limits before settling here.
 */
import { CroupierError } from "../../errors.ts";

export type EvenMoneyKind = "red" | "black" | "even" | "odd" | "low" | "high";
export type ThirdKind = "dozen" | "column";

export type RouletteBet =
  | { readonly kind: "straight"; readonly number: number }
  | { readonly kind: EvenMoneyKind }
  | { readonly kind: ThirdKind; readonly n: 1 | 2 | 3 };

export type RouletteBetKind = RouletteBet["kind"];

/** The pockets of the wheel: 0 (green) and 1..36. */
export const pocketCount = 37;

/** The red pockets of a European wheel; every other pocket except 0 is black. */
export const redNumbers: ReadonlySet<number> = new Set([
  1, 3, 5, 7, 9, 12, 14, 16, 18, 19, 21, 23, 25, 27, 30, 32, 34, 36,
]);

const evenMoneyKinds: ReadonlySet<string> = new Set<EvenMoneyKind>([
  "red",
  "black",
  "even",
  "odd",
  "low",
  "high",
]);

const thirdKinds: ReadonlySet<string> = new Set<ThirdKind>(["dozen", "column"]);

/** A malformed roulette bet; always `BAD_REQUEST`, and nothing has moved. */
export class RouletteBetError extends CroupierError {
  constructor(message: string) {
    super("BAD_REQUEST", message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates a bet as it arrives on the wire. Unknown fields are ignored (per the protocol's
 * conventions); a missing or ill-typed required field, an unknown kind or an out-of-range
 * number is a RouletteBetError. The result holds only the fields of its kind.
 */
export function parseRouletteBet(value: unknown): RouletteBet {
  if (!isRecord(value)) throw new RouletteBetError("bet must be a JSON object");
  const kind = value.kind;
  if (typeof kind !== "string") throw new RouletteBetError("bet kind must be a string");
  if (kind === "straight") {
    const number = value.number;
    if (!Number.isInteger(number) || (number as number) < 0 || (number as number) > 36) {
      throw new RouletteBetError("straight bet number must be an integer in 0..36");
    }
    return { kind, number: number as number };
  }
  if (evenMoneyKinds.has(kind)) return { kind: kind as EvenMoneyKind };
  if (thirdKinds.has(kind)) {
    const n = value.n;
    if (n !== 1 && n !== 2 && n !== 3) {
      throw new RouletteBetError(`${kind} bet n must be 1, 2 or 3`);
    }
    return { kind: kind as ThirdKind, n };
  }
  throw new RouletteBetError(`unknown roulette bet kind "${kind.slice(0, 32)}"`);
}

function assertPocket(number: number): void {
  if (!Number.isInteger(number) || number < 0 || number >= pocketCount) {
    throw new Error(`roulette number must be an integer in 0..36, got ${number}`);
  }
}

/** Whether `bet` wins when the ball lands on `number`. Zero loses every outside bet. */
export function betCovers(bet: RouletteBet, number: number): boolean {
  assertPocket(number);
  switch (bet.kind) {
    case "straight":
      return bet.number === number;
    case "red":
      return redNumbers.has(number);
    case "black":
      return number !== 0 && !redNumbers.has(number);
    case "even":
      return number !== 0 && number % 2 === 0;
    case "odd":
      return number % 2 === 1;
    case "low":
      return number >= 1 && number <= 18;
    case "high":
      return number >= 19 && number <= 36;
    case "dozen":
      return number !== 0 && Math.ceil(number / 12) === bet.n;
    case "column":
      return number !== 0 && ((number - 1) % 3) + 1 === bet.n;
  }
}

/** The odds paid to one ("35" means 35:1); a winning bet gets its stake back on top. */
export function payoutMultiplier(bet: RouletteBet): number {
  switch (bet.kind) {
    case "straight":
      return 35;
    case "dozen":
    case "column":
      return 2;
    case "red":
    case "black":
    case "even":
    case "odd":
    case "low":
    case "high":
      return 1;
  }
}

/**
 * The amount credited for `amount` minor units staked on `bet` when the ball lands on `number`:
 * stake + stake x odds when the bet covers it, else 0. The amount must be a positive safe
 * integer; callers validate it first, so failing here is a programming error.
 */
export function settleBet(bet: RouletteBet, amount: number, number: number): number {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new Error(`roulette stake must be a positive safe integer, got ${amount}`);
  }
  if (!betCovers(bet, number)) return 0;
  const win = amount * (payoutMultiplier(bet) + 1);
  if (!Number.isSafeInteger(win)) {
    throw new Error(`roulette win for stake ${amount} is not a safe integer`);
  }
  return win;
}

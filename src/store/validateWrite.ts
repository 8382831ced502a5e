import { commandIdLengthMax, playerIdLengthMax, postingsPerWriteMax } from "./embedded/options.ts";
import type { EntryKind, WalletWrite } from "./ledger.ts";

/**
 * Shape checks of one write. Anything failing here is a programmer error in the caller (the
 * protocol layer validates client input long before), so it throws: the write is refused with
 * INTERNAL and nothing of it is stored, while the rest of its batch commits.
 */
export class InvalidWriteError extends Error {
  override readonly name = "InvalidWriteError";
}

const entryKinds: ReadonlySet<string> = new Set<EntryKind>([
  "start",
  "deposit",
  "withdrawal",
  "bet",
  "win",
  "refund",
]);

const otherAccount = /^(house:.+|cash|promo)$/;

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvalidWriteError(message);
}

function isText(value: unknown, lengthMax: number): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= lengthMax;
}

/** Throws InvalidWriteError unless the write is well formed and its postings balance. */
export function validateWrite(write: WalletWrite): void {
  check(isText(write.playerId, playerIdLengthMax), "playerId must be 1-64 characters");
  check(isText(write.commandId, commandIdLengthMax), "commandId must be 1-128 characters");
  check(isText(write.requestHash, 1_024), "requestHash must be a non-empty string");
  check(
    Number.isSafeInteger(write.seq) && write.seq >= 1,
    `seq ${write.seq} is not an integer >= 1`,
  );
  check(typeof write.reply === "string", "reply must be a string");
  check(typeof write.event === "string", "event must be a string");
  check(Array.isArray(write.postings), "postings must be an array");
  check(
    write.postings.length <= postingsPerWriteMax,
    `${write.postings.length} postings exceed ${postingsPerWriteMax}`,
  );
  const playerAccount = `player:${write.playerId}`;
  let sum = 0;
  for (const posting of write.postings) {
    const { account, amount, kind } = posting;
    check(
      Number.isSafeInteger(amount) && amount !== 0,
      `amount ${amount} is not a non-zero safe integer`,
    );
    if (account === playerAccount) {
      check(
        kind !== undefined && entryKinds.has(kind),
        `player posting kind ${kind} is not an entry kind`,
      );
    } else {
      check(
        typeof account === "string" && otherAccount.test(account),
        `account ${account} is not this write's player, a house, cash or promo account`,
      );
    }
    sum += amount;
    check(Number.isSafeInteger(sum), "postings overflow a safe integer");
  }
  check(sum === 0, `postings of ${write.commandId} sum to ${sum}, not 0`);
  if (write.wager !== undefined) {
    const amount = (write.wager as { amount?: unknown } | null)?.amount;
    check(
      typeof amount === "number" && Number.isSafeInteger(amount) && amount > 0,
      "wager amount must be a positive safe integer",
    );
  }
  if (write.round !== undefined) {
    const { roundId, game, detail } = write.round;
    check(isText(roundId, 128) && isText(game, 64), "round needs a roundId and a game");
    check(typeof detail === "string", "round detail must be a string");
  }
}

/**
 * Walks the postings in order from `balance`: the player's balance after each of its postings
 * (null for other accounts), or undefined when any step would take it below zero.
 */
export function balancesAfter(
  write: WalletWrite,
  balance: number,
): { perPosting: (number | null)[]; balance: number } | undefined {
  const playerAccount = `player:${write.playerId}`;
  const perPosting: (number | null)[] = [];
  let running = balance;
  for (const posting of write.postings) {
    if (posting.account !== playerAccount) {
      perPosting.push(null);
      continue;
    }
    running += posting.amount;
    if (!Number.isSafeInteger(running))
      throw new InvalidWriteError("balance overflows a safe integer");
    if (running < 0) return undefined;
    perPosting.push(running);
  }
  return { perPosting, balance: running };
}

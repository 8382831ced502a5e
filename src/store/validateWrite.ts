import { commandIdLengthMax, playerIdLengthMax, postingsPerWriteMax } from "./embedded/options.ts";
import type { EntryKind, WalletWrite } from "./ledger.ts";
import {
  type StoredTableBet,
  type TableRoundLink,
  tableSettlementCommandId,
} from "./tableRounds.ts";

/**
 * Shape checks of one write. Anything failing here is a programmer error in the caller (the
 * protocol layer validates client input long before), so it throws: the write is refused with
 * INTERNAL and nothing of it is stored, while the rest of its batch commits.
 */
export class InvalidWriteError extends Error {
  override readonly name = "InvalidWriteError";
}

/** The kinds a posting to a player's account may have (wallet history shows them). */
export const entryKinds: ReadonlySet<string> = new Set<EntryKind>([
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
  check(typeof write === "object" && write !== null, "a write must be an object");
  check(isText(write.playerId, playerIdLengthMax), "playerId must be 1-64 characters");
  check(isText(write.commandId, commandIdLengthMax), "commandId must be 1-128 characters");
  // SQLite stores a lone surrogate as U+FFFD: two ids that differ only there would be one id in
  // the file and two in the writer's memory (commandIndex.ts).
  check(
    write.playerId.isWellFormed() && write.commandId.isWellFormed(),
    "playerId and commandId must be well-formed Unicode (no lone surrogates)",
  );
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
    check(typeof posting === "object" && posting !== null, "a posting must be an object");
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
  if (write.tableRound !== undefined) {
    // Table entries are found by command id through the index of entries without a slot round.
    check(write.round === undefined, "a table write carries no slot round");
    validateTableRound(write);
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

/** UTF-16 code units of one client seed at most (docs/PROTOCOL.md, "Fairness"). */
const clientSeedLengthMax = 64;

/** Client seeds are joined with "," in the draw, so a seed may not hold one. */
const seedSeparatorCode = 0x2c;

/** U+0000-U+001F and U+007F: a published seed cannot show them, and Postgres cannot store U+0000. */
function isControlCharacter(code: number): boolean {
  return code <= 0x1f || code === 0x7f;
}

function isClientSeed(seed: string): boolean {
  if (!isText(seed, clientSeedLengthMax)) return false;
  for (let index = 0; index < seed.length; index++) {
    const code = seed.charCodeAt(index);
    if (code === seedSeparatorCode || isControlCharacter(code)) return false;
  }
  // Stored as UTF-8, a lone surrogate would come back as U+FFFD: another seed than the bet's.
  return seed.isWellFormed();
}

function validateTableRound(write: WalletWrite): void {
  const link = write.tableRound as TableRoundLink;
  check(typeof link === "object" && link !== null, "tableRound must be an object");
  check(
    isText(link.roundId, 128) && isText(link.table, 64),
    "tableRound needs a roundId and a table",
  );
  if (link.kind === "payout" || link.kind === "refund") {
    check(
      write.commandId === tableSettlementCommandId(link.roundId),
      `a ${link.kind} must use the round's settlement command id`,
    );
    return;
  }
  check(link.kind === "bet", `tableRound kind ${String(link.kind)} is not bet, payout or refund`);
  const bet = link.bet as StoredTableBet | undefined;
  check(typeof bet === "object" && bet !== null, "a table bet needs its bet");
  check(isText(bet.kind, 16), "table bet kind must be 1-16 characters");
  check(
    bet.pick === null || (Number.isSafeInteger(bet.pick) && bet.pick >= 0 && bet.pick <= 36),
    "table bet pick must be null or an integer in 0..36",
  );
  check(
    Number.isSafeInteger(bet.amount) && bet.amount > 0,
    "table bet amount must be a positive safe integer",
  );
  check(
    bet.clientSeed === null || isClientSeed(bet.clientSeed),
    "client seed must be null or 1-64 characters without a comma or a control character",
  );
  const debit = write.postings
    .filter((posting) => posting.account === `player:${write.playerId}`)
    .reduce((sum, posting) => sum + posting.amount, 0);
  check(
    debit === -bet.amount,
    `a table bet of ${bet.amount} must debit exactly that, not ${-debit}`,
  );
}

import type { TableBetRequest } from "../actors/commandFingerprints.ts";
import { CroupierError } from "../errors.ts";
import { parseRouletteBet, type RouletteBet } from "../games/roulette/bets.ts";
import { isAmount, isCommandId, isPlainObject } from "./validate.ts";

/** A client command after validation: the gateway parses a frame once and hands this on. */
export type ClientCommand =
  | { type: "spin"; id: string; game: string; bet: number }
  | { type: "ping"; id: string }
  | { type: "table.join" | "table.leave"; id: string; table: string }
  | ({ type: "table.bet" } & TableBetRequest);

/** Table ids as configured (config/tables.ts); anything else cannot name a table. */
const tableIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
/** Round ids are UUIDs; the bound only keeps junk out. */
const roundIdLengthMax = 128;
/** UTF-16 code units of one client seed at most (docs/PROTOCOL.md, "Fairness"). */
const clientSeedLengthMax = 64;
/** Client seeds are joined with "," in the draw, so a seed may not hold one. */
const seedSeparatorCode = 0x2c;

/**
 * U+0000-U+001F and U+007F. A seed is published for anyone to recompute the draw, where an
 * invisible character cannot be checked by eye; and U+0000 cannot be stored in a Postgres text
 * column at all, so a seed holding one would fail its ledger write.
 */
function isControlCharacter(code: number): boolean {
  return code <= 0x1f || code === 0x7f;
}

function isClientSeed(value: unknown): value is string {
  if (typeof value !== "string" || value.length === 0 || value.length > clientSeedLengthMax) {
    return false;
  }
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code === seedSeparatorCode || isControlCharacter(code)) return false;
  }
  // A lone surrogate (JSON allows "\ud800") has no UTF-8 form: the ledger would store U+FFFD,
  // publish another seed than the one sent, and refuse the bet's retry as a conflict.
  return value.isWellFormed();
}

export class CommandError extends CroupierError {
  constructor(
    readonly commandId: string | null,
    code: ConstructorParameters<typeof CroupierError>[0],
    message: string,
  ) {
    super(code, message);
  }
}

/**
 * Parses one client frame. Throws CommandError (BAD_REQUEST and friends) naming the command id
 * when one could be read, so the error reply can carry it.
 */
export function parseCommand(frame: unknown): ClientCommand {
  let value = frame;
  if (value instanceof Uint8Array)
    throw new CommandError(null, "BAD_REQUEST", "frames must be JSON text, not binary");
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      throw new CommandError(null, "BAD_REQUEST", "frame is not valid JSON");
    }
  }
  if (!isPlainObject(value))
    throw new CommandError(null, "BAD_REQUEST", "frame must be a JSON object");
  const id = isCommandId(value.id) ? value.id : null;
  if (typeof value.type !== "string")
    throw new CommandError(id, "BAD_REQUEST", "type must be a string");
  if (id === null) {
    throw new CommandError(null, "BAD_REQUEST", "id must be 1-64 characters of [A-Za-z0-9_.:-]");
  }
  switch (value.type) {
    case "spin": {
      if (typeof value.game !== "string")
        throw new CommandError(id, "BAD_REQUEST", "game must be a string");
      if (!isAmount(value.bet)) {
        throw new CommandError(id, "BAD_REQUEST", "bet must be a positive integer of minor units");
      }
      return { type: "spin", id, game: value.game, bet: value.bet };
    }
    case "ping":
      return { type: "ping", id };
    case "table.join":
    case "table.leave":
      return { type: value.type, id, table: tableOf(id, value.table) };
    case "table.bet":
      return parseTableBet(id, value);
    default:
      throw new CommandError(
        id,
        "BAD_REQUEST",
        `unknown command type "${value.type.slice(0, 32)}"`,
      );
  }
}

function tableOf(id: string, table: unknown): string {
  if (typeof table !== "string")
    throw new CommandError(id, "BAD_REQUEST", "table must be a string");
  if (!tableIdPattern.test(table)) throw new CommandError(id, "UNKNOWN_TABLE", "no such table");
  return table;
}

function parseTableBet(id: string, value: Record<string, unknown>): ClientCommand {
  const table = tableOf(id, value.table);
  let bet: RouletteBet;
  try {
    bet = parseRouletteBet(value.bet);
  } catch (error) {
    throw new CommandError(id, "BAD_REQUEST", (error as Error).message);
  }
  if (!isAmount(value.amount)) {
    throw new CommandError(id, "BAD_REQUEST", "amount must be a positive integer of minor units");
  }
  const command: ClientCommand = { type: "table.bet", id, table, bet, amount: value.amount };
  if (value.roundId !== undefined) {
    if (
      typeof value.roundId !== "string" ||
      value.roundId.length === 0 ||
      value.roundId.length > roundIdLengthMax
    ) {
      throw new CommandError(id, "BAD_REQUEST", "roundId must be a round id string");
    }
    command.roundId = value.roundId;
  }
  if (value.clientSeed !== undefined) {
    if (!isClientSeed(value.clientSeed)) {
      throw new CommandError(
        id,
        "BAD_REQUEST",
        "clientSeed must be 1-64 characters without a comma or a control character",
      );
    }
    command.clientSeed = value.clientSeed;
  }
  return command;
}

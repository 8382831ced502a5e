import { CroupierError } from "../errors.ts";
import { isAmount, isCommandId, isPlainObject } from "./validate.ts";

/** A client command after validation: the gateway parses a frame once and hands this on. */
export type ClientCommand =
  | { type: "spin"; id: string; game: string; bet: number }
  | { type: "ping"; id: string };

/** Commands that belong to later protocol areas; recognised so the error says so. */
const tableCommands = new Set(["table.join", "table.bet", "table.leave"]);

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
    default:
      if (tableCommands.has(value.type)) {
        throw new CommandError(id, "UNKNOWN_TABLE", "no tables are configured on this node");
      }
      throw new CommandError(
        id,
        "BAD_REQUEST",
        `unknown command type "${value.type.slice(0, 32)}"`,
      );
  }
}

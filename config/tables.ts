/**
 * The live tables a node offers (docs/PROTOCOL.md, "Tables"). Every node of a cluster must be
 * given the same list: placement decides which node runs each table, and any node answers
 * `GET /v1/tables` and routes bets to it.
 */
export interface TableConfig {
  /** The table id clients send (`table`): 1-64 characters of [A-Za-z0-9_-]. */
  id: string;
  game: "roulette";
  /** Smallest and largest stake of one bet, minor units. */
  minBet: number;
  maxBet: number;
  /** How long betting stays open in each round. */
  bettingWindowMs: number;
  /** How long the result stays on show before the next round opens. */
  resultDisplayMs: number;
  /**
   * Players seated at once (a seat lasts until `table.leave`, so abandoned ones would otherwise
   * pile up in the table actor's memory and its activation). Default `tableSeatsMaxDefault`.
   */
  seatsMax?: number;
  /**
   * Bets one round accepts over all its players: bounds the round's `table.round.closed` frame
   * (one client seed per bet) and its `GET /v1/rounds/:id`. Default `tableBetsPerRoundMaxDefault`.
   */
  betsPerRoundMax?: number;
}

export const defaultTables: readonly TableConfig[] = [
  {
    id: "roulette-1",
    game: "roulette",
    minBet: 100, // 1.00
    maxBet: 100_000, // 1,000.00
    bettingWindowMs: 15_000,
    resultDisplayMs: 5_000,
  },
];

/** Bounds of the durations, so a typo cannot stall a table for days or spin it in a busy loop. */
export const tableWindowMsMin = 100;
export const tableWindowMsMax = 10 * 60_000;
export const tablesMax = 1_000;
/** Seats per table (players seated at once), when a table does not say. */
export const tableSeatsMaxDefault = 10_000;
/** Bets per round over all players, when a table does not say. */
export const tableBetsPerRoundMaxDefault = 10_000;
/**
 * Ceiling of both per-table counts: 100,000 seats are ~10 MB of the table actor's memory, and
 * 100,000 bets with 64-character client seeds a ~7 MB `table.round.closed` frame to every watcher.
 */
export const tableCountMaxCeiling = 100_000;

const tableIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** A problem with the tables' configuration: which field, and why. */
export class TableConfigError extends Error {
  override readonly name = "TableConfigError";
}

function integerIn(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

/** Checks parsed JSON (TABLES) or a list given in code; throws TableConfigError naming the field. */
export function validateTables(value: unknown): TableConfig[] {
  if (!Array.isArray(value)) throw new TableConfigError("must be a JSON array of tables");
  if (value.length > tablesMax) throw new TableConfigError(`more than ${tablesMax} tables`);
  const seen = new Set<string>();
  return value.map((entry: unknown, index) => {
    const at = `[${index}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new TableConfigError(`${at} must be an object`);
    }
    const table = entry as Record<string, unknown>;
    if (typeof table.id !== "string" || !tableIdPattern.test(table.id)) {
      throw new TableConfigError(`${at}.id must be 1-64 characters of [A-Za-z0-9_-]`);
    }
    if (seen.has(table.id)) throw new TableConfigError(`${at}.id "${table.id}" appears twice`);
    seen.add(table.id);
    if (table.game !== "roulette") throw new TableConfigError(`${at}.game must be "roulette"`);
    if (!integerIn(table.minBet, 1, Number.MAX_SAFE_INTEGER)) {
      throw new TableConfigError(`${at}.minBet must be a positive integer (minor units)`);
    }
    // 35:1 plus the stake must stay a safe integer for every straight bet.
    if (!integerIn(table.maxBet, table.minBet, Math.floor(Number.MAX_SAFE_INTEGER / 36))) {
      throw new TableConfigError(`${at}.maxBet must be an integer >= minBet and <= 2^53/36`);
    }
    for (const key of ["bettingWindowMs", "resultDisplayMs"] as const) {
      if (!integerIn(table[key], tableWindowMsMin, tableWindowMsMax)) {
        throw new TableConfigError(
          `${at}.${key} must be an integer in ${tableWindowMsMin}..${tableWindowMsMax}`,
        );
      }
    }
    const counts = { seatsMax: tableSeatsMaxDefault, betsPerRoundMax: tableBetsPerRoundMaxDefault };
    for (const key of ["seatsMax", "betsPerRoundMax"] as const) {
      if (table[key] === undefined) continue;
      if (!integerIn(table[key], 1, tableCountMaxCeiling)) {
        throw new TableConfigError(
          `${at}.${key} must be an integer in 1..${tableCountMaxCeiling} (default ${counts[key]})`,
        );
      }
      counts[key] = table[key] as number;
    }
    return {
      id: table.id,
      game: "roulette",
      minBet: table.minBet as number,
      maxBet: table.maxBet as number,
      bettingWindowMs: table.bettingWindowMs as number,
      resultDisplayMs: table.resultDisplayMs as number,
      ...counts,
    };
  });
}

/** Parses the TABLES environment variable (a JSON array). */
export function parseTables(raw: string): TableConfig[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new TableConfigError("is not valid JSON");
  }
  return validateTables(parsed);
}

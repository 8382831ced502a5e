/**
 * Table bets one player may place in one round (a full cover of the wheel takes 37). The player
 * actor enforces it exactly (from the ledger's unsettled bets); the table actor relies on it to
 * count each player's share of a round's reservations (table.ts, `betTarget`).
 */
export const tableBetsPerRoundMax = 100;

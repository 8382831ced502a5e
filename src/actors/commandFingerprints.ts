import type { RouletteBet } from "../games/roulette/bets.ts";

/**
 * Fingerprints of money-moving commands: the same id with another fingerprint is
 * IDEMPOTENCY_CONFLICT (docs/PROTOCOL.md). Stored with every command, so a fingerprint once
 * written must keep its meaning: change one and stored commands no longer match their retries.
 */

/** A roulette bet as a client asks for it (docs/PROTOCOL.md, `table.bet`), validated. */
export interface TableBetRequest {
  id: string;
  table: string;
  bet: RouletteBet;
  amount: number;
  /** Only this round; otherwise the table's open round. */
  roundId?: string;
  clientSeed?: string;
}

/**
 * The fingerprint of a table bet: the same id with any other parameter is a conflict. Also the
 * gateway's dedupe key for in-flight copies, so both agree on what "the same bet" is.
 */
export function tableBetRequestHash(request: TableBetRequest): string {
  const { table, bet, amount, roundId, clientSeed } = request;
  return `table.bet:${table}:${JSON.stringify(bet)}:${amount}:${hashField(roundId ?? "")}:${hashField(clientSeed ?? "")}`;
}

/** The fingerprint of a spin (and, after the id, the gateway's dedupe key). */
export function spinRequestHash(game: string, bet: number): string {
  return `spin:${game}:${bet}`;
}

/**
 * A free-text field of a fingerprint with its separator escaped, so that no two different
 * requests share a fingerprint ("a:b" + "c" against "a" + "b:c"). Text without ":" or "%"
 * (every round id, nearly every seed) is unchanged, so fingerprints stored before stay valid.
 */
function hashField(text: string): string {
  return text.replaceAll("%", "%25").replaceAll(":", "%3A");
}

/** The fingerprint of a deposit or a withdrawal. */
export function cashRequestHash(kind: "deposit" | "withdrawal", amount: number): string {
  return `${kind}:${amount}`;
}

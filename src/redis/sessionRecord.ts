/**
 * A session as stored in Redis: JSON of what the token maps to. The token itself is not stored
 * (the key is its hash, see keys.ts), so a dump of Redis holds no usable token.
 */
import type { Session } from "../net/sessions.ts";

/** Far more than `{"playerId":<64 chars>,"expiresAt":<13 digits>}`: larger is not ours. */
const recordBytesMax = 512;

export function encodeSessionRecord(session: Session): string {
  return JSON.stringify({ playerId: session.playerId, expiresAt: session.expiresAt });
}

/** The session for `token`, or undefined if the stored text is not a session record. */
export function decodeSessionRecord(token: string, text: string): Session | undefined {
  if (text.length > recordBytesMax) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { playerId, expiresAt } = value as Record<string, unknown>;
  if (typeof playerId !== "string" || !Number.isSafeInteger(expiresAt)) return undefined;
  return { token, playerId, expiresAt: expiresAt as number };
}

import { CroupierError } from "../errors.ts";
import type { GatewayContext } from "./context.ts";
import { bearerToken, isOperatorKey } from "./httpReply.ts";
import type { Session } from "./sessions.ts";

/** Who made an HTTP request. */
export type Caller =
  | { kind: "operator" }
  | { kind: "player"; session: Session }
  | { kind: "anonymous" };

export async function identify(context: GatewayContext, request: Request): Promise<Caller> {
  const token = bearerToken(request);
  if (token === undefined) return { kind: "anonymous" };
  if (isOperatorKey(token, context.config.operatorKey)) return { kind: "operator" };
  const session = await context.sessions.find(token);
  return session === undefined ? { kind: "anonymous" } : { kind: "player", session };
}

export async function requirePlayer(context: GatewayContext, request: Request): Promise<Session> {
  const caller = await identify(context, request);
  if (caller.kind !== "player")
    throw new CroupierError("UNAUTHENTICATED", "a valid player token is required");
  return caller.session;
}

/**
 * Operator mode: only the operator key may act on a player's money. Dev mode: a player's own
 * token may act on its own account. Says which of the two it was.
 */
export async function requireMoneyAuthority(
  context: GatewayContext,
  request: Request,
  playerId: string,
): Promise<"operator" | "player"> {
  const caller = await identify(context, request);
  if (context.config.operatorKey !== undefined) {
    if (caller.kind === "operator") return "operator";
    if (caller.kind === "player")
      throw new CroupierError("FORBIDDEN", "this needs the operator key");
    throw new CroupierError("UNAUTHENTICATED", "this needs the operator key");
  }
  if (caller.kind !== "player")
    throw new CroupierError("UNAUTHENTICATED", "a valid player token is required");
  if (caller.session.playerId !== playerId)
    throw new CroupierError("FORBIDDEN", "a player may only move its own money");
  return "player";
}

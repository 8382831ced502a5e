import { LRUCache } from "lru-cache";
import { CroupierError } from "../errors.ts";
import { biggestWinBoard, leaderboardNames } from "../leaderboard/leaderboards.ts";
import type { PlayerLimits } from "../store/ledger.ts";
import { isExcluded } from "../store/limits.ts";
import { identify, requireMoneyAuthority, requirePlayer } from "./auth.ts";
import type { GatewayContext } from "./context.ts";
import { endExcludedPlayerHere } from "./exclusion.ts";
import { errorResponse, json, jsonText, readJsonBody } from "./httpReply.ts";
import { presentRound } from "./roundView.ts";
import { presentTableRound } from "./tableRoundView.ts";
import { isAmount, isCommandId, isPlayerId } from "./validate.ts";

/** HTTP bodies are small JSON objects; anything larger is refused before it is parsed. */
export const httpBodyBytesMax = 16 * 1024;
const historyLimitDefault = 50;
const historyLimitMax = 200;

export async function createSession(
  context: GatewayContext,
  request: Request,
  ip: string,
): Promise<Response> {
  const caller = await identify(context, request);
  const { config } = context;
  if (config.operatorKey !== undefined && caller.kind !== "operator") {
    throw new CroupierError(
      caller.kind === "player" ? "FORBIDDEN" : "UNAUTHENTICATED",
      "this needs the operator key",
    );
  }
  // Operators are trusted back offices: only anonymous dev-mode callers are limited per IP.
  if (caller.kind !== "operator") {
    const limit = { perSecond: config.sessionsPerSecondPerIp, burst: config.sessionBurstPerIp };
    if (!(await context.limiter.take(`ip:${ip}:session`, limit))) {
      context.metrics.rateLimited.inc({ limit: "session-per-ip" });
      throw new CroupierError("RATE_LIMITED", "too many sessions from this address; back off");
    }
  }
  const body = await readJsonBody(request, httpBodyBytesMax);
  if (!isPlayerId(body.playerId))
    throw new CroupierError("BAD_REQUEST", "playerId must be 1-64 characters of [A-Za-z0-9_-]");
  if (isExcluded(await context.ledger.getLimits(body.playerId), Date.now()))
    throw new CroupierError("SELF_EXCLUDED", "the player is excluded from play");
  // Activates the player (and, in dev mode, credits the starting balance once) before the token exists.
  await context.askPlayer(body.playerId, { type: "state" });
  const session = await context.sessions.create(body.playerId, config.sessionTtlMs);
  return json(201, {
    token: session.token,
    playerId: session.playerId,
    expiresAt: new Date(session.expiresAt).toISOString(),
  });
}

export async function revokeSession(context: GatewayContext, request: Request): Promise<Response> {
  const session = await requirePlayer(context, request);
  try {
    await context.sessions.revoke(session.token);
  } catch (error) {
    throw new CroupierError("BUSY", "the revocation could not be stored; retry", { cause: error });
  }
  // The store tells every node (this one too) through onRevoked; each closes its sockets with 4001.
  return new Response(null, { status: 204 });
}

/** The wanted limits bind at least as hard as the current ones: an exclusion no shorter, a loss limit no higher. */
function isStricter(wanted: PlayerLimits, current: PlayerLimits, nowMs: number): boolean {
  const excludedUntil = (limits: PlayerLimits) =>
    isExcluded(limits, nowMs) ? (limits.selfExcludedUntil as number) : nowMs;
  const lossLimit = (limits: PlayerLimits) => limits.lossLimitPerDay ?? Number.POSITIVE_INFINITY;
  return excludedUntil(wanted) >= excludedUntil(current) && lossLimit(wanted) <= lossLimit(current);
}

const isoDateTime =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** Epoch ms of an ISO 8601 date-time with a zone, or undefined when it is not one. */
export function parseIsoDateTime(value: string): number | undefined {
  const match = isoDateTime.exec(value);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return undefined;
  const ms = Date.parse(value);
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : undefined;
}

/** A limits body field: absent (undefined: keep), null (clear) or a value. */
function limitsField<T>(
  body: Record<string, unknown>,
  name: string,
  parse: (value: unknown) => T | undefined,
  expected: string,
): T | null | undefined {
  if (!(name in body) || body[name] === undefined) return undefined;
  const value = body[name];
  if (value === null) return null;
  const parsed = parse(value);
  if (parsed === undefined) throw new CroupierError("BAD_REQUEST", `${name} must be ${expected}`);
  return parsed;
}

function presentLimits(playerId: string, limits: PlayerLimits) {
  return {
    playerId,
    selfExcludedUntil:
      limits.selfExcludedUntil === null ? null : new Date(limits.selfExcludedUntil).toISOString(),
    lossLimitPerDay: limits.lossLimitPerDay,
  };
}

/**
 * PUT /v1/players/:playerId/limits. The store holds the limits and checks every bet against
 * them; the player's actor gets a fresh hint, and an excluded player's sockets are closed on
 * every node (503 BUSY when that cannot be announced: the limits are stored, retrying is safe).
 */
/** Limit changes by a player's own token (dev mode): a burst of ten, then one a second. */
const limitChangesRate = { perSecond: 1, burst: 10 };

export async function putLimits(
  context: GatewayContext,
  request: Request,
  playerId: string,
): Promise<Response> {
  if (!isPlayerId(playerId))
    throw new CroupierError("BAD_REQUEST", "playerId must be 1-64 characters of [A-Za-z0-9_-]");
  const authority = await requireMoneyAuthority(context, request, playerId);
  // Each change is a transaction of its own: a player's token must not be able to issue them by
  // the thousand (operators are trusted with bulk changes, as with every operator-key request).
  if (
    authority === "player" &&
    !(await context.limiter.take(`player:${playerId}:limits`, limitChangesRate))
  ) {
    context.metrics.rateLimited.inc({ limit: "limits-per-player" });
    throw new CroupierError("RATE_LIMITED", "too many limit changes; try again in a second");
  }
  const body = await readJsonBody(request, httpBodyBytesMax);
  const selfExcludedUntil = limitsField(
    body,
    "selfExcludedUntil",
    (value) => (typeof value === "string" ? parseIsoDateTime(value) : undefined),
    "an ISO 8601 date-time with a time zone, or null",
  );
  const lossLimitPerDay = limitsField(
    body,
    "lossLimitPerDay",
    (value) =>
      typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined,
    "a non-negative integer of minor units, or null",
  );
  const current = await context.ledger.getLimits(playerId);
  const wanted: PlayerLimits = {
    selfExcludedUntil:
      selfExcludedUntil === undefined ? current.selfExcludedUntil : selfExcludedUntil,
    lossLimitPerDay: lossLimitPerDay === undefined ? current.lossLimitPerDay : lossLimitPerDay,
  };
  if (authority === "player" && !isStricter(wanted, current, Date.now()))
    throw new CroupierError(
      "FORBIDDEN",
      "a player may make their limits stricter, never looser: lifting an exclusion or raising a limit is an operator's act",
    );
  // The same limits again write nothing (the exclusion below is still announced again).
  const unchanged =
    wanted.selfExcludedUntil === current.selfExcludedUntil &&
    wanted.lossLimitPerDay === current.lossLimitPerDay;
  const limits = unchanged ? current : await context.ledger.setLimits(playerId, wanted);
  let announceError: unknown;
  let announceFailed = false;
  if (isExcluded(limits, Date.now())) {
    await endExcludedPlayerHere(context.sockets, context.sessions, playerId, context.log);
    // Every node (this one included) closes the player's sockets.
    try {
      await context.sessions.excludePlayer(playerId);
    } catch (error) {
      announceFailed = true;
      announceError = error;
    }
  }
  try {
    await context.askPlayer(playerId, { type: "limits", limits });
  } catch {
    // Only the actor's hint: the store already enforces the limits.
  }
  if (announceFailed) {
    // The limits are stored; repeating the request announces the exclusion again.
    throw new CroupierError("BUSY", "the exclusion could not reach every node; retry", {
      cause: announceError,
    });
  }
  return json(200, presentLimits(playerId, limits));
}

export async function getWallet(context: GatewayContext, request: Request): Promise<Response> {
  const session = await requirePlayer(context, request);
  // Read from the ledger: another node may have moved the wallet since this one last did.
  const reply = await context.askPlayer(session.playerId, { type: "state", fresh: true });
  if (reply.type !== "state") throw new Error("player actor answered state with a command reply");
  return json(200, {
    playerId: session.playerId,
    balance: reply.balance,
    currency: context.config.currency,
  });
}

export async function getHistory(context: GatewayContext, request: Request): Promise<Response> {
  const session = await requirePlayer(context, request);
  const params = new URL(request.url).searchParams;
  const limit =
    parseOptionalInteger(params.get("limit"), "limit", 1, historyLimitMax) ?? historyLimitDefault;
  const before = parseOptionalInteger(params.get("before"), "before", 1, Number.MAX_SAFE_INTEGER);
  const entries = await context.ledger.history(session.playerId, limit, before);
  const last = entries.at(-1);
  return json(200, {
    entries: entries.map((e) => ({
      id: e.id,
      kind: e.kind,
      amount: e.amount,
      balanceAfter: e.balanceAfter,
      at: new Date(e.at).toISOString(),
    })),
    next: entries.length === limit && last !== undefined ? String(last.cursor) : null,
  });
}

export async function moveCash(
  context: GatewayContext,
  request: Request,
  type: "deposit" | "withdrawal",
): Promise<Response> {
  const body = await readJsonBody(request, httpBodyBytesMax);
  if (!isPlayerId(body.playerId))
    throw new CroupierError("BAD_REQUEST", "playerId must be 1-64 characters of [A-Za-z0-9_-]");
  await requireMoneyAuthority(context, request, body.playerId);
  if (!isAmount(body.amount))
    throw new CroupierError("BAD_REQUEST", "amount must be a positive integer of minor units");
  if (!isCommandId(body.id))
    throw new CroupierError("BAD_REQUEST", "id must be 1-64 characters of [A-Za-z0-9_.:-]");
  const reply = await context.askPlayer(
    body.playerId,
    { type, id: body.id, amount: body.amount },
    `${body.id}|${type}:${body.amount}`,
  );
  if (reply.type !== "command") throw new Error("player actor answered a cash movement with state");
  return jsonText(200, reply.reply);
}

/** Longer than any round id the node makes: answered without a look-up. */
const roundIdLengthMax = 128;

/**
 * Views of finished table rounds, by round id: public, never changed once the round is paid, and
 * read by every player of the round after its result. Bounded by the characters they hold.
 */
export type FinishedRoundViews = LRUCache<string, string>;

export function finishedRoundViews(charactersMax: number): FinishedRoundViews {
  return new LRUCache<string, string>({
    maxSize: charactersMax,
    sizeCalculation: (view) => Math.max(1, view.length),
  });
}

export async function getRound(
  context: GatewayContext,
  request: Request,
  roundId: string,
  finished?: FinishedRoundViews,
): Promise<Response> {
  if (roundId.length > roundIdLengthMax) {
    // No round has such an id, but the answer without a token is the one every non-table id gets.
    await requirePlayer(context, request);
    return errorResponse("NOT_FOUND", "no such round");
  }
  const cached = finished?.get(roundId);
  if (cached !== undefined) return jsonText(200, cached);
  const tableRound = await context.ledger.tableRound(roundId);
  if (tableRound !== undefined) {
    const bets = await context.ledger.tableRoundBets(roundId);
    const view = JSON.stringify(presentTableRound(tableRound, bets));
    const final =
      tableRound.paid && (tableRound.status === "settled" || tableRound.status === "voided");
    if (final) finished?.set(roundId, view);
    return jsonText(200, view);
  }
  // Any other round is private to its player: the token is asked for first, whether or not the
  // round exists, so that an anonymous answer says nothing of which ids exist; anyone else's
  // round is "not found".
  const session = await requirePlayer(context, request);
  const round = await context.ledger.findRound(roundId);
  if (round === undefined || round.playerId !== session.playerId)
    return errorResponse("NOT_FOUND", "no such round");
  return jsonText(200, presentRound(round));
}

function parseOptionalInteger(
  raw: string | null,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (raw === null) return undefined;
  if (!/^\d{1,16}$/.test(raw)) throw new CroupierError("BAD_REQUEST", `${name} must be an integer`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new CroupierError("BAD_REQUEST", `${name} must be ${min}..${max}`);
  return value;
}

const leaderboardLimitDefault = 10;

/** The configured tables with their joined players (docs/PROTOCOL.md) and voided-round counts. */
export interface TableListing {
  tables: {
    table: string;
    game: string;
    players: number;
    minBet: number;
    maxBet: number;
    bettingWindowMs: number;
    voidedRounds: number;
  }[];
}

/** The body of `GET /v1/tables`; the route shares one listing among callers (app.ts). */
export async function listTables(context: GatewayContext): Promise<TableListing> {
  // Seats from the ledger, not from the table actors: every node gives the same count, and an
  // anonymous listing wakes no idle table.
  const tables = await Promise.all(
    [...context.tables.values()].map(async (table) => {
      const [seats, voidedRounds] = await Promise.all([
        context.ledger.tableSeats(table.id),
        context.ledger.voidedTableRoundCount(table.id),
      ]);
      return {
        table: table.id,
        game: table.game,
        players: seats.length,
        minBet: table.minBet,
        maxBet: table.maxBet,
        bettingWindowMs: table.bettingWindowMs,
        voidedRounds,
      };
    }),
  );
  return { tables };
}

export async function getLeaderboard(context: GatewayContext, request: Request): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const board = params.get("board") ?? biggestWinBoard;
  if (!leaderboardNames.includes(board))
    return errorResponse(
      "NOT_FOUND",
      `no leaderboard "${board.slice(0, 64)}"; boards: ${leaderboardNames.join(", ")}`,
    );
  const limit =
    parseOptionalInteger(params.get("limit"), "limit", 1, 1_000) ?? leaderboardLimitDefault;
  const entries = await context.leaderboards.top(board, limit);
  return json(200, { board, entries });
}

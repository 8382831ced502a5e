import type { ServerWebSocket } from "bun";
import { Elysia } from "elysia";
import { frameBytesMax } from "../../config/defaults.ts";
import { isLoopbackAddress, rateLimitKeyOf, trustedProxiesFrom } from "./clientAddress.ts";
import type { GatewayContext } from "./context.ts";
import { corsPolicy } from "./cors.ts";
import { bearerToken, errorResponse, isOperatorKey, json, responseForError } from "./httpReply.ts";
import {
  createSession,
  finishedRoundViews,
  getHistory,
  getLeaderboard,
  getRound,
  getWallet,
  listTables,
  moveCash,
  putLimits,
  revokeSession,
} from "./httpRoutes.ts";
import { sharedAnswer } from "./sharedAnswer.ts";
import type { SocketSession } from "./socketSession.ts";
import { checkUpgrade, type UpgradeGrant, WsGateway } from "./wsGateway.ts";

interface ConnectionData {
  grant?: UpgradeGrant;
  socket?: SocketSession;
  message?: (ws: unknown, frame: unknown) => void;
}

/** Characters of finished table rounds' views kept for `GET /v1/rounds/:roundId` (~16 MiB). */
const finishedRoundViewsCharactersMax = 8 * 1024 * 1024;

/** How stale the table listing's player counts may be. */
const tableListingMaxAgeMs = 1_000;

type PeerSource = { requestIP(request: Request): { address: string } | null } | null;

/** Prometheus text of the node's metrics. */
export function metricsResponse(context: GatewayContext): Response {
  return new Response(context.metrics.registry.render(), {
    headers: { "content-type": "text/plain; version=0.0.4" },
  });
}

/**
 * The HTTP and WebSocket surface of a node (docs/PROTOCOL.md). WebSocket limits live in the
 * server-wide `websocket` options: Bun ignores them anywhere else, and a test checks they apply.
 */
export function createApp(context: GatewayContext) {
  const gateway = new WsGateway(context);
  /**
   * What a frame is answered with at once goes out before Bun parses the next frame: Bun closes a
   * socket by itself (1009 for a frame over the limit) without telling us first, and frames still
   * queued for it then (outboundFrames.ts) would be lost.
   */
  const receive = (socket: SocketSession, frame: unknown): void => {
    gateway.message(socket, frame);
    context.outboundFrames.flush();
  };
  const finishedRounds = finishedRoundViews(finishedRoundViewsCharactersMax);
  // Anonymous and read from every seat: one listing per period serves any number of callers.
  const tableListing = sharedAnswer(tableListingMaxAgeMs, () => listTables(context));
  const cors = corsPolicy(context.config.corsOrigins);
  const route = (request: Request, handler: () => Promise<Response>): Promise<Response> =>
    handler()
      .catch((error: unknown) => responseForError(error, context.log))
      .then((response) => cors.decorate(request, response));
  const proxies = trustedProxiesFrom(context.config.trustedProxies);
  // The key of the client's limits per address (an IPv6 /64 counts as one address).
  const clientIp = (server: PeerSource, request: Request): string =>
    rateLimitKeyOf(
      proxies.clientAddress(
        server?.requestIP(request)?.address ?? "unknown",
        request.headers.get("x-forwarded-for"),
      ),
    );
  // Reads cost the ledger and the event loop whoever asks (most need no token): limited per
  // address, like upgrades and sessions, except for the operator's back office.
  const readLimit = {
    perSecond: context.config.readsPerSecondPerIp,
    burst: context.config.readBurstPerIp,
  };
  const readRoute = (server: PeerSource, request: Request, handler: () => Promise<Response>) =>
    route(request, async () => {
      const operator = isOperatorKey(bearerToken(request), context.config.operatorKey);
      if (
        !operator &&
        !(await context.limiter.take(`ip:${clientIp(server, request)}:read`, readLimit))
      ) {
        context.metrics.rateLimited.inc({ limit: "read-per-ip" });
        return errorResponse("RATE_LIMITED", "too many requests from this address; back off");
      }
      return handler();
    });
  return (
    new Elysia({
      serve: { reusePort: false, maxRequestBodySize: 64 * 1024 },
      websocket: {
        maxPayloadLength: frameBytesMax,
        backpressureLimit: context.config.socketBackpressureBytesMax,
        closeOnBackpressureLimit: false,
        idleTimeout: 0, // our own heartbeat evicts silent sockets with 4000
        sendPings: false,
        perMessageDeflate: false,
      },
    })
      .onError(({ code, error, set, request }) => {
        const response =
          code === "NOT_FOUND"
            ? errorResponse("NOT_FOUND", "no such route")
            : code === "PARSE" || code === "VALIDATION"
              ? errorResponse("BAD_REQUEST", "malformed request")
              : responseForError(error, context.log);
        set.status = response.status; // for the request counter below
        return cors.decorate(request, response);
      })
      .onAfterResponse(({ request, set, responseValue }) => {
        // Routes answer with their own Response (errors included), which `set` knows nothing of.
        const status =
          responseValue instanceof Response ? responseValue.status : (set.status ?? 200);
        context.metrics.httpRequests.inc({ method: request.method, status: String(status) });
      })
      // A browser asks before a cross-origin request with a token or a JSON body.
      .options("/v1/*", ({ request }) => cors.preflight(request))
      .get("/health/live", () => json(200, { status: "live" }))
      .get("/health/ready", () => {
        const failing = context.failingDependencies();
        if (context.isDraining()) failing.push("draining");
        return failing.length === 0
          ? json(200, { status: "ready" })
          : json(503, { status: "not-ready", failing });
      })
      .get("/metrics", ({ request, server }) => {
        if (context.config.metricsPort !== undefined)
          return errorResponse("NOT_FOUND", "metrics are served on the metrics port");
        // On the public port only for this machine or the operator: set METRICS_PORT to scrape
        // from elsewhere (the counts tell an outsider more than they should).
        const token = bearerToken(request);
        const operator = token !== undefined && isOperatorKey(token, context.config.operatorKey);
        // A request a proxy forwarded is not this machine's, even from a local proxy.
        const forwarded =
          request.headers.has("x-forwarded-for") || request.headers.has("forwarded");
        const peer = server?.requestIP(request)?.address ?? "";
        return (isLoopbackAddress(peer) && !forwarded) || operator
          ? metricsResponse(context)
          : errorResponse("NOT_FOUND", "no such route");
      })
      .post(
        "/v1/sessions",
        ({ request, server }) =>
          route(request, () => createSession(context, request, clientIp(server, request))),
        {
          parse: "none",
        },
      )
      .delete("/v1/sessions/current", ({ request }) =>
        route(request, () => revokeSession(context, request)),
      )
      .get("/v1/wallet", ({ request, server }) =>
        readRoute(server, request, () => getWallet(context, request)),
      )
      .get("/v1/wallet/history", ({ request, server }) =>
        readRoute(server, request, () => getHistory(context, request)),
      )
      .post(
        "/v1/wallet/deposit",
        ({ request }) => route(request, () => moveCash(context, request, "deposit")),
        { parse: "none" },
      )
      .post(
        "/v1/wallet/withdraw",
        ({ request }) => route(request, () => moveCash(context, request, "withdrawal")),
        { parse: "none" },
      )
      .put(
        "/v1/players/:playerId/limits",
        ({ request, params }) => route(request, () => putLimits(context, request, params.playerId)),
        { parse: "none" },
      )
      .get("/v1/rounds/:roundId", ({ request, params, server }) =>
        readRoute(server, request, () =>
          getRound(context, request, params.roundId, finishedRounds),
        ),
      )
      .get("/v1/tables", ({ request, server }) =>
        readRoute(server, request, async () => json(200, await tableListing())),
      )
      .get("/v1/leaderboard", ({ request, server }) =>
        readRoute(server, request, () => getLeaderboard(context, request)),
      )
      .ws("/v1/ws", {
        // Elysia calls this hook twice for an accepted upgrade; the grant is computed once.
        async beforeHandle(ctx) {
          const data = ctx as unknown as ConnectionData & { request: Request };
          if (data.grant !== undefined) return;
          const result = await checkUpgrade(
            context,
            ctx.request,
            clientIp(ctx.server, ctx.request),
          );
          if (result instanceof Response) return result;
          data.grant = result;
        },
        open(ws) {
          const raw = ws.raw as ServerWebSocket<ConnectionData>;
          const grant = raw.data.grant;
          if (grant === undefined) {
            raw.close(1011, "missing upgrade grant");
            return;
          }
          const socket = gateway.open(raw as ServerWebSocket<unknown>, grant);
          raw.data.socket = socket;
          // Bun delivers each frame to `data.message`. Pointing it straight at the gateway skips
          // Elysia's per-frame wrapper (an async parse step and a wrapper object per frame); the
          // gateway parses and validates frames itself. Elysia's handler below stays as the fallback.
          raw.data.message = (_ws: unknown, frame: unknown) => receive(socket, frame);
        },
        message(ws, message) {
          const socket = (ws.raw as ServerWebSocket<ConnectionData>).data.socket;
          if (socket !== undefined) receive(socket, message);
        },
        // Elysia hands ping/pong handlers Bun's own socket, not its wrapper. A client's own ping
        // frame is heard like any other frame (Bun answers it with a pong by itself).
        ping(ws) {
          const raw = ("raw" in ws ? ws.raw : ws) as ServerWebSocket<ConnectionData>;
          const socket = raw.data.socket;
          if (socket !== undefined) gateway.heard(socket);
        },
        pong(ws) {
          const raw = ("raw" in ws ? ws.raw : ws) as ServerWebSocket<ConnectionData>;
          const socket = raw.data.socket;
          if (socket !== undefined) gateway.heard(socket);
        },
        close(ws, code, reason) {
          const socket = (ws.raw as ServerWebSocket<ConnectionData>).data.socket;
          if (socket !== undefined) gateway.close(socket, code, reason);
        },
      })
  );
}

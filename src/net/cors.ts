/**
 * Cross-origin access for browser game clients served from another origin than the node
 * (CORS_ORIGINS). Players authenticate with a bearer token, never a cookie, so responses allow
 * the listed origins without credentials. WebSockets need none of this (browsers do not apply
 * CORS to them; the token in the query is what authorises).
 */

/** Methods and request headers a browser may use toward the node. */
const allowedMethods = "GET, POST, PUT, DELETE";
const allowedHeaders = "authorization, content-type";
/** How long a browser may reuse a preflight answer. */
const preflightMaxAgeSeconds = 600;

export interface CorsPolicy {
  /** The answer to a preflight (`OPTIONS`) request. */
  preflight(request: Request): Response;
  /** Adds the response's cross-origin headers for the request's origin, if it is allowed. */
  decorate(request: Request, response: Response): Response;
}

/** `origins`: exact origins (`https://casino.example`), or `*` for any. Empty: no cross-origin access. */
export function corsPolicy(origins: readonly string[]): CorsPolicy {
  const any = origins.includes("*");
  const allowed = new Set(origins);
  const allowOrigin = (request: Request): string | undefined => {
    const origin = request.headers.get("origin");
    if (origin === null) return undefined;
    if (any) return "*";
    return allowed.has(origin) ? origin : undefined;
  };
  return {
    preflight(request) {
      const response = new Response(null, { status: 204 });
      const origin = allowOrigin(request);
      if (origin === undefined) return response;
      response.headers.set("access-control-allow-origin", origin);
      response.headers.set("access-control-allow-methods", allowedMethods);
      response.headers.set("access-control-allow-headers", allowedHeaders);
      response.headers.set("access-control-max-age", String(preflightMaxAgeSeconds));
      if (!any) response.headers.set("vary", "Origin");
      return response;
    },
    decorate(request, response) {
      // The answer depends on the Origin unless every origin gets the same: a cache must not
      // hand one origin's answer to another.
      if (!any && allowed.size > 0) response.headers.append("vary", "Origin");
      const origin = allowOrigin(request);
      if (origin !== undefined) response.headers.set("access-control-allow-origin", origin);
      return response;
    },
  };
}

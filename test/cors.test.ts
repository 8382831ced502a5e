import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../config/load.ts";
import { newSession, startTestNode } from "./harness.ts";

const gamePage = "https://casino.example";

function preflight(url: string, origin: string): Promise<Response> {
  return fetch(url, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "GET",
      "access-control-request-headers": "authorization",
    },
  });
}

describe("cors", () => {
  test("cors - a listed origin may call the API from a browser: preflight, answers and errors carry its headers", async () => {
    await using node = await startTestNode({ corsOrigins: [gamePage] });
    const { token } = await newSession(node);
    const asked = await preflight(`${node.httpUrl}/v1/wallet`, gamePage);
    expect(asked.status).toBe(204);
    expect(asked.headers.get("access-control-allow-origin")).toBe(gamePage);
    expect(asked.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(asked.headers.get("access-control-allow-methods")).toContain("GET");
    const wallet = await fetch(`${node.httpUrl}/v1/wallet`, {
      headers: { origin: gamePage, authorization: `Bearer ${token}` },
    });
    expect(wallet.status).toBe(200);
    expect(wallet.headers.get("access-control-allow-origin")).toBe(gamePage);
    expect(wallet.headers.get("vary")).toContain("Origin");
    // Errors too, or the page could not read why it was refused.
    const refused = await fetch(`${node.httpUrl}/v1/wallet`, { headers: { origin: gamePage } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(gamePage);
    const missing = await fetch(`${node.httpUrl}/v1/nowhere`, { headers: { origin: gamePage } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("access-control-allow-origin")).toBe(gamePage);
  });

  test("cors - another origin, or none configured, gets no cross-origin headers", async () => {
    await using node = await startTestNode({ corsOrigins: [gamePage] });
    const other = await preflight(`${node.httpUrl}/v1/wallet`, "https://evil.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const tables = await fetch(`${node.httpUrl}/v1/tables`, {
      headers: { origin: "https://evil.example" },
    });
    expect(tables.status).toBe(200);
    expect(tables.headers.get("access-control-allow-origin")).toBeNull();
    // Still varies by Origin: a cache must not hand this answer to the allowed origin.
    expect(tables.headers.get("vary")).toContain("Origin");
    await using closed = await startTestNode();
    const asked = await preflight(`${closed.httpUrl}/v1/tables`, gamePage);
    expect(asked.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("cors - CORS_ORIGINS takes exact origins, or * alone", () => {
    expect(
      loadConfig({ CORS_ORIGINS: "https://a.example, http://localhost:3000" }).corsOrigins,
    ).toEqual(["https://a.example", "http://localhost:3000"]);
    expect(loadConfig({ CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
    for (const bad of [
      "https://a.example/",
      "a.example",
      "*,https://a.example",
      "https://a.example/game",
    ])
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(ConfigError);
  });
});

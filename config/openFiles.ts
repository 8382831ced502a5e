import { readFileSync } from "node:fs";

/**
 * Descriptors kept free of sockets for everything else a node opens: the ledger's files, its
 * database and Redis connections, HTTP requests, logs.
 */
export const descriptorsReservedForOther = 1_024;

/** Sockets a node holds at most when SOCKETS_MAX is not set and the limit cannot be read. */
export const socketsMaxFallback = 50_000;

/**
 * The process's soft limit on open files (`ulimit -n`), from /proc on Linux; undefined where it
 * cannot be read or is unlimited.
 */
export function openFilesLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return undefined;
    }
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  if (soft === undefined || !/^\d+$/.test(soft)) return undefined;
  return Number(soft);
}

/**
 * SOCKETS_MAX when not set: what the open-files limit leaves after the reserve (or half the
 * limit, when the limit is too small for the reserve to leave more), so that a flood of sockets
 * is refused with 503 before `accept` starts failing for everyone (health checks included). Bun
 * raises its soft limit to the hard one at start, so this is the limit the node really has.
 */
export function defaultSocketsMax(limit: number | undefined): number {
  if (limit === undefined) return socketsMaxFallback;
  return Math.max(1, Math.floor(limit / 2), limit - descriptorsReservedForOther);
}

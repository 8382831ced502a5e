/**
 * One ioredis connection configured the Croupier way: bounded waits, no offline queue, capped
 * reconnection delay, and an 'error' listener so a Redis outage is logged, never a crash (an
 * EventEmitter 'error' without a listener throws).
 */
import { Redis } from "ioredis";
import { settleWithin } from "../deadline.ts";
import type { ResolvedRedisConnection } from "./options.ts";

export function createRedisClient(options: ResolvedRedisConnection, role: string): Redis {
  const client = new Redis(options.url, {
    connectionName: `croupier-${options.keyPrefix}-${role}`,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    socketTimeout: options.socketTimeoutMs,
    maxRetriesPerRequest: options.retriesPerRequestMax,
    // Commands fail at once while disconnected instead of piling up in memory.
    enableOfflineQueue: false,
    // Subscriptions are renewed by their owner, which must know when they are live again.
    autoResubscribe: false,
    retryStrategy: (attempt) =>
      reconnectDelayMs(attempt, options.reconnectDelayMsMin, options.reconnectDelayMsMax),
  });
  client.on("error", (error: Error) => {
    try {
      options.onError(role, error);
    } catch {
      // A reporter must not throw; if it does, the connection still must not crash the node.
    }
  });
  return client;
}

/** Exponential backoff from `delayMsMin`, capped at `delayMsMax`; never gives up. */
export function reconnectDelayMs(attempt: number, delayMsMin: number, delayMsMax: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 20); // 2^20 x min is past any cap
  return Math.min(delayMsMin * 2 ** exponent, delayMsMax);
}

/** Resolves once the client is ready; false if it is not within `timeoutMs` or it ended. */
export function waitForReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  if (client.status === "end") return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (ready: boolean) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("end", onEnd);
      resolve(ready);
    };
    const onReady = () => finish(true);
    const onEnd = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    client.on("ready", onReady);
    client.on("end", onEnd);
  });
}

/** QUIT when connected (bounded by `timeoutMs`), then disconnect, which also stops reconnecting. */
export async function closeClient(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === "ready") {
    await settleWithin(client.quit(), timeoutMs);
  }
  client.disconnect(false);
}

/**
 * Redis may evict keys when it runs out of memory. For Croupier that means players silently
 * logged out (sessions carry a TTL, so every `volatile-*` policy picks them first), rate limits
 * forgotten, leaderboard entries lost. With `noeviction` Redis refuses writes instead, which
 * Croupier reports as 503 and the operator sees.
 */
import type { Redis } from "ioredis";

export const requiredEvictionPolicy = "noeviction";

/**
 * The server's `maxmemory-policy`, or undefined when it cannot be read: managed services often
 * disable or rename CONFIG, and not knowing must not stop a node.
 */
export async function readEvictionPolicy(client: Redis): Promise<string | undefined> {
  try {
    const reply: unknown = await client.config("GET", "maxmemory-policy");
    // [name, value] as a flat array (RESP2, and RESP3 with the default reply mapping).
    if (Array.isArray(reply) && typeof reply[1] === "string") return reply[1];
    return undefined;
  } catch {
    return undefined;
  }
}

/** A warning for the operator when the policy is known and is not `noeviction`. */
export function evictionPolicyWarning(policy: string | undefined): string | undefined {
  if (policy === undefined || policy === requiredEvictionPolicy) return undefined;
  return (
    `Redis maxmemory-policy is "${policy}": under memory pressure Redis would silently drop ` +
    `sessions, rate-limit buckets and leaderboards. Set it to "${requiredEvictionPolicy}" ` +
    `(CONFIG SET maxmemory-policy ${requiredEvictionPolicy}, or in redis.conf).`
  );
}

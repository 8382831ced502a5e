export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: how many may come at once. */
  burst: number;
}

/**
 * Token-bucket rate limiting by key ("player:<id>", "ip:<addr>:upgrade", ...).
 * `take` answers whether one more event is allowed now, and counts it when it is.
 */
export interface RateLimiter {
  /** A local limiter answers at once; a shared one may need a round trip. */
  take(key: string, limit: RateLimit): boolean | Promise<boolean>;
  close(): Promise<void>;
}

/** One token bucket: `tokens` as of `refilledAtMs`, and when it will be full again. */
export interface Bucket {
  tokens: number;
  refilledAtMs: number;
  /** From then on the bucket is full: it acts as no bucket at all and may be forgotten. */
  fullAtMs: number;
}

/** A bucket that starts full. */
export function fullBucket(limit: RateLimit, nowMs: number): Bucket {
  return { tokens: limit.burst, refilledAtMs: nowMs, fullAtMs: nowMs };
}

/** Refills the bucket up to `nowMs`, then takes one token if there is one. */
export function takeToken(bucket: Bucket, limit: RateLimit, nowMs: number): boolean {
  const refill = ((nowMs - bucket.refilledAtMs) / 1000) * limit.perSecond;
  bucket.tokens = Math.min(limit.burst, bucket.tokens + refill);
  bucket.refilledAtMs = nowMs;
  const taken = bucket.tokens >= 1;
  if (taken) bucket.tokens -= 1;
  bucket.fullAtMs = nowMs + ((limit.burst - bucket.tokens) / limit.perSecond) * 1000;
  return taken;
}

/** Buckets looked at for forgetting per take (a full one is the same as none). */
const bucketsSweptPerTake = 2;

/**
 * In-process buckets. The key count is bounded: past `keysMax` the oldest key is forgotten,
 * which can only make that key's limit lenient once (a forgotten bucket starts full), never
 * strict. A plain Map keeps each check O(1) with no reordering on the hot path.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /** Where the sweep of full buckets goes on from (see `take`). */
  private sweep: Iterator<[string, Bucket]> | undefined;

  constructor(
    private readonly keysMax: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  take(key: string, limit: RateLimit): boolean {
    const now = this.nowMs();
    this.forgetFullBuckets(now);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.keysMax) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
      bucket = fullBucket(limit, now);
      this.buckets.set(key, bucket);
    }
    return takeToken(bucket, limit, now);
  }

  /**
   * A few buckets per take, round the map: a bucket that has filled up again is forgotten (a
   * new one starts full), so keys that stopped coming do not stay until `keysMax`.
   */
  private forgetFullBuckets(nowMs: number): void {
    for (let i = 0; i < bucketsSweptPerTake; i++) {
      this.sweep ??= this.buckets.entries();
      const next = this.sweep.next();
      if (next.done) {
        this.sweep = undefined;
        return;
      }
      const [key, bucket] = next.value;
      if (bucket.fullAtMs <= nowMs) this.buckets.delete(key);
    }
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }
}

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

/** One token bucket: `tokens` as of `refilledAtMs`. */
export interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

/** A bucket that starts full. */
export function fullBucket(limit: RateLimit, nowMs: number): Bucket {
  return { tokens: limit.burst, refilledAtMs: nowMs };
}

/** Refills the bucket up to `nowMs`, then takes one token if there is one. */
export function takeToken(bucket: Bucket, limit: RateLimit, nowMs: number): boolean {
  const refill = ((nowMs - bucket.refilledAtMs) / 1000) * limit.perSecond;
  bucket.tokens = Math.min(limit.burst, bucket.tokens + refill);
  bucket.refilledAtMs = nowMs;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/**
 * In-process buckets. The key count is bounded: past `keysMax` the oldest key is forgotten,
 * which can only make that key's limit lenient once (a forgotten bucket starts full), never
 * strict. A plain Map keeps each check O(1) with no reordering on the hot path.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly keysMax: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  take(key: string, limit: RateLimit): boolean {
    const now = this.nowMs();
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

  async close(): Promise<void> {
    this.buckets.clear();
  }
}

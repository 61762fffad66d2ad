// A token bucket per interface so one flooding VM cannot starve the other pods'
// DHCP workers. Pure: the caller passes the clock.

export interface RateLimit {
  /** Tokens added per second (sustained messages per second). */
  ratePerSecond: number;
  /** Bucket size: how many messages may arrive back to back. */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { ratePerSecond: 50, burst: 100 };

export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  constructor(readonly limit: RateLimit = DEFAULT_RATE_LIMIT) {
    if (!(limit.ratePerSecond > 0) || !(limit.burst >= 1) || !Number.isFinite(limit.burst)) {
      throw new RangeError(`rate limit needs ratePerSecond > 0 and a finite burst >= 1, got ${JSON.stringify(limit)}`);
    }
    this.tokens = limit.burst;
  }

  /** Takes one token at time `now` (ms); false when the bucket is empty. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens available at `now` (ms), for status output. */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    // A clock that steps backwards (or NaN) adds nothing rather than going negative.
    if (this.last !== undefined && now > this.last) {
      this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) * this.limit.ratePerSecond) / 1000);
    }
    if (this.last === undefined || now > this.last) this.last = now;
  }
}

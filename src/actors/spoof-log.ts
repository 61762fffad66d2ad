// When to log an interface's anti-spoofing drops: a flooding guest must not flood the log,
// so at most one line per interface per period, saying what was dropped since the last one.
// And when to read the counters for it: every 5th monitor tick, not every one (each read is a
// counters dump on an nft thread through a netns fd opened for it: with 250 ready pods these
// reads cost ~0.6% of a core at rest, measured; every tick would be five times that).
import { SPOOF_REASONS, type SpoofCounters } from '../io/nft-rules.js';

export const SPOOF_LOG_EVERY_MS = 60_000;
export const SPOOF_READ_EVERY_TICKS = 5;

export class SpoofLogLimiter {
  private readonly last = new Map<string, { logged: SpoofCounters; at: number }>();
  private readonly readAt = new Map<string, number>();
  constructor(
    private readonly everyMs = SPOOF_LOG_EVERY_MS,
    private readonly readEveryMs = 0,
  ) {}

  /** True while no line can be due for `key` (one was logged within the period). */
  private quiet(key: string, now: number): boolean {
    const prev = this.last.get(key);
    return prev !== undefined && now - prev.at < this.everyMs;
  }

  /** Whether to read `key`'s counters now (a line could be due, none read lately); true marks it read. */
  wantsRead(key: string, now: number): boolean {
    const at = this.readAt.get(key);
    if (this.quiet(key, now) || (at !== undefined && now - at < this.readEveryMs)) return false;
    this.readAt.set(key, now);
    return true;
  }

  /** The drops per reason since the last line for `key` when a line is due, else undefined. */
  due(key: string, now: number, counters: SpoofCounters): Partial<SpoofCounters> | undefined {
    if (this.quiet(key, now)) return undefined;
    const prev = this.last.get(key);
    const delta: Partial<SpoofCounters> = {};
    for (const r of SPOOF_REASONS) {
      // A counter below the last one was recreated (table rebuilt): count from zero.
      const d = counters[r] - (prev && counters[r] >= prev.logged[r] ? prev.logged[r] : 0);
      if (d > 0) delta[r] = d;
    }
    if (Object.keys(delta).length === 0) return undefined;
    this.last.set(key, { logged: { ...counters }, at: now });
    return delta;
  }

  forget(key: string): void {
    this.last.delete(key);
    this.readAt.delete(key);
  }
}

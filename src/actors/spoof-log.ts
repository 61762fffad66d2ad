// When to log an interface's anti-spoofing drops: a flooding guest must not flood the log,
// so at most one line per interface per period, saying what was dropped since the last one.
import { SPOOF_REASONS, type SpoofCounters } from '../io/nft-rules.js';

export const SPOOF_LOG_EVERY_MS = 60_000;

export class SpoofLogLimiter {
  private readonly last = new Map<string, { logged: SpoofCounters; at: number }>();
  constructor(private readonly everyMs = SPOOF_LOG_EVERY_MS) {}

  /** The drops per reason since the last line for `key` when a line is due, else undefined. */
  due(key: string, now: number, counters: SpoofCounters): Partial<SpoofCounters> | undefined {
    const prev = this.last.get(key);
    if (prev && now - prev.at < this.everyMs) return undefined;
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
  }
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RATE_LIMIT, TokenBucket } from '../../../src/dhcp/ratelimit.js';

const T0 = 1_000_000;

void describe('TokenBucket', () => {
  void it('defaults to 50/s with a burst of 100', () => {
    assert.deepEqual(DEFAULT_RATE_LIMIT, { ratePerSecond: 50, burst: 100 });
    const b = new TokenBucket();
    let taken = 0;
    while (b.take(T0)) taken++;
    assert.equal(taken, 100);
    assert.equal(b.take(T0 + 19), false); // 19 ms = 0.95 token
    assert.equal(b.take(T0 + 20), true); // 20 ms = 1 token at 50/s
  });

  void it('refills at the rate and never above the burst', () => {
    const b = new TokenBucket({ ratePerSecond: 10, burst: 5 });
    for (let i = 0; i < 5; i++) assert.equal(b.take(T0), true);
    assert.equal(b.take(T0), false);
    assert.equal(b.available(T0 + 250), 2.5);
    assert.equal(b.available(T0 + 60_000), 5);
  });

  void it('ignores a clock that steps backwards instead of refilling or going negative', () => {
    const b = new TokenBucket({ ratePerSecond: 1, burst: 1 });
    assert.equal(b.take(T0), true);
    assert.equal(b.take(T0 - 5000), false);
    assert.equal(b.take(T0 + 999), false);
    assert.equal(b.take(T0 + 1000), true);
    assert.equal(b.take(Number.NaN), false);
  });

  void it('rejects limits that would block or never limit', () => {
    assert.throws(() => new TokenBucket({ ratePerSecond: 0, burst: 1 }), RangeError);
    assert.throws(() => new TokenBucket({ ratePerSecond: 1, burst: 0 }), RangeError);
    assert.throws(() => new TokenBucket({ ratePerSecond: 1, burst: Number.POSITIVE_INFINITY }), RangeError);
  });
});

// Runtime options: dhcp.rateLimit accepted as { ratePerSecond, burst } or false, refused
// with the field named otherwise, and handed to the DHCP pool.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { runtimeOptionsSchema, validate } from '../../../src/actors/options.js';
import { createRuntime } from '../../../src/actors/runtime.js';
import type { DhcpPool } from '../../../src/io/dhcp-pool.js';

const parse = (rateLimit: unknown) => validate(runtimeOptionsSchema, { stateDir: '/var/lib/netlet', dhcp: { rateLimit } }, 'runtime options');

void describe('dhcp.rateLimit', () => {
  void it('takes { ratePerSecond, burst }, false, or nothing (the server default)', () => {
    assert.deepEqual(parse({ ratePerSecond: 10, burst: 20 }).dhcp.rateLimit, { ratePerSecond: 10, burst: 20 });
    assert.deepEqual(parse({ ratePerSecond: 0.5, burst: 1 }).dhcp.rateLimit, { ratePerSecond: 0.5, burst: 1 });
    assert.equal(parse(false).dhcp.rateLimit, false);
    assert.equal(parse(undefined).dhcp.rateLimit, undefined);
  });

  void it('refuses bad values with a message naming the field', () => {
    const cases: [unknown, string, string][] = [
      [{ ratePerSecond: 10, burst: 0 }, 'dhcp.rateLimit.burst', 'must be a positive integer'],
      [{ ratePerSecond: 10, burst: 1.5 }, 'dhcp.rateLimit.burst', 'must be a positive integer'],
      [{ ratePerSecond: 10 }, 'dhcp.rateLimit.burst', 'must be a positive integer'],
      [{ ratePerSecond: -1, burst: 5 }, 'dhcp.rateLimit.ratePerSecond', 'must be a positive number'],
      [{ ratePerSecond: '50', burst: 5 }, 'dhcp.rateLimit.ratePerSecond', 'must be a positive number'],
      [{ ratePerSecond: Infinity, burst: 5 }, 'dhcp.rateLimit.ratePerSecond', 'must be a positive number'],
      [{ ratePerSecond: 1, burst: 5, rate: 3 }, 'dhcp.rateLimit.rate', 'is not a rate limit field'],
      [true, 'dhcp.rateLimit', 'must be { ratePerSecond, burst } or false'],
      [null, 'dhcp.rateLimit', 'must be { ratePerSecond, burst } or false'],
      ['off', 'dhcp.rateLimit', 'must be { ratePerSecond, burst } or false'],
    ];
    for (const [value, field, text] of cases) {
      assert.throws(() => parse(value), (e: Error & { code?: string; details?: { field?: string } }) => {
        assert.equal(e.code, 'INVALID_REQUEST');
        assert.equal(e.details?.field, field, JSON.stringify(value));
        assert.ok(e.message.includes(`${field}: ${text}`), e.message);
        return true;
      });
    }
  });

  void it('reaches the runtime\'s DHCP pool', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlet-opts-'));
    try {
      for (const rateLimit of [false, { ratePerSecond: 7, burst: 3 }, undefined] as const) {
        const rt = await createRuntime({ stateDir: join(dir, 'state'), runDir: join(dir, 'run'), monitorIntervalMs: 0, logger: pino({ level: 'silent' }), dhcp: rateLimit === undefined ? {} : { rateLimit } });
        const pool = (rt as unknown as Record<symbol, DhcpPool>)[Symbol.for('netlet.test.dhcpPool')]!;
        assert.deepEqual(pool.rateLimit, rateLimit);
        await rt.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

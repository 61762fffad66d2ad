// Property: any input gives a plan or a typed CNI NetletError, never another exception
// (and never the "internal" safety-net error, which would mean a netlet bug).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NetletError } from '../../../src/model/errors.js';
import { parseCniResult } from '../../../src/cni/index.js';
import { fixture, fixtureNames } from './fixtures.js';

const CODES = new Set(['CNI_VERSION_MISSING', 'CNI_VERSION_UNSUPPORTED', 'CNI_RESULT_INVALID']);
const ctx = { network: 'n', ifName: 'eth0' };

const seen = { plans: 0, errors: 0 };

function check(input: unknown): void {
  try {
    const plans = parseCniResult(input, ctx);
    seen.plans++;
    assert.ok(Array.isArray(plans));
    for (const p of plans) {
      assert.equal(typeof p.name, 'string');
      for (const ip of p.ips) assert.ok(ip.family === 4 || ip.family === 6);
      if (p.mac) assert.equal(p.mac, p.mac.toLowerCase());
    }
  } catch (e) {
    seen.errors++;
    if (!(e instanceof NetletError)) throw new Error(`non-typed error for ${JSON.stringify(input)?.slice(0, 300)}: ${String(e)}`, { cause: e });
    assert.ok(CODES.has(e.code), `unexpected code ${e.code}`);
    assert.notEqual(e.details?.internal, true, `internal error: ${e.message}`);
  }
}

void test('arbitrary JSON values and strings: a plan or a typed error', () => {
  fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.string(), fc.json()), check), { numRuns: 3000 });
});

const realFixtures = fixtureNames().filter((n) => !n.includes('error')).map(fixture);

/** Replaces, deletes or adds a value at a random path of a fixture. */
const mutated = fc
  .tuple(fc.constantFrom(...realFixtures), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), fc.oneof(fc.jsonValue(), fc.constant(undefined)), fc.string({ maxLength: 8 }))
  .map(([base, picks, value, newKey]) => {
    const root: unknown = structuredClone(base);
    let cur: any = root;
    for (let i = 0; i < picks.length; i++) {
      const keys = Object.keys(cur);
      if (keys.length === 0) break;
      const k = keys[picks[i]! % keys.length]!;
      const last = i === picks.length - 1 || cur[k] === null || typeof cur[k] !== 'object';
      if (last) {
        if (value === undefined) delete cur[k];
        // A new key on an object only: an array's `length` set to a non-index throws (seen once).
        else if (picks[i]! % 7 === 0 && !Array.isArray(cur)) cur[newKey] = value;
        else cur[k] = value;
        break;
      }
      cur = cur[k];
    }
    return root;
  });

void test('mutated real fixtures: a plan or a typed error', () => {
  seen.plans = seen.errors = 0;
  fc.assert(fc.property(mutated, check), { numRuns: 5000 });
  // Not vacuous: mutations both survive and break results.
  assert.ok(seen.plans > 100 && seen.errors > 100, JSON.stringify(seen));
});

void test('address-ish strings in every slot: a plan or a typed error', () => {
  const addrish = fc.oneof(
    fc.ipV4(), fc.ipV6(), fc.ipV4Extended(),
    fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: -1, max: 200 })).map(([a, n]) => `${a}/${n}`),
    fc.constantFrom('', '::', '::/0', '0.0.0.0/0', 'fe80::1%eth0', 'fe80::1%eth0/64', '1.2.3.4/032', '::ffff:1.2.3.4/96'),
  );
  const result = fc.record({
    cniVersion: fc.constantFrom('0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'),
    interfaces: fc.array(fc.record({ name: fc.constantFrom('eth0', 'veth1', 'eth1'), mac: fc.option(fc.constantFrom('AA:BB:CC:DD:EE:FF', '', 'x')), sandbox: fc.option(fc.constantFrom('/run/netns/x', '')) }, { requiredKeys: ['name'] }), { maxLength: 3 }),
    ips: fc.array(fc.record({ address: addrish, gateway: fc.option(addrish), interface: fc.option(fc.integer({ min: -1, max: 4 })) }, { requiredKeys: ['address'] }), { maxLength: 4 }),
    routes: fc.array(fc.record({ dst: addrish, gw: fc.option(addrish) }, { requiredKeys: ['dst'] }), { maxLength: 4 }),
  });
  seen.plans = seen.errors = 0;
  fc.assert(fc.property(result, check), { numRuns: 5000 });
  assert.ok(seen.plans > 100 && seen.errors > 100, JSON.stringify(seen));
});

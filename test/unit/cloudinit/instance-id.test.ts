// The instance id follows the rendered network: same plan, same id; any change, a new id.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceIdFor, renderCloudInit, safePodId } from '../../../src/cloudinit/index.js';
import type { PodNetworkPlan } from '../../../src/model/index.js';
import { goldenCases } from './plans.js';

const base = goldenCases['one-veth']!;
const clone = (p: PodNetworkPlan): PodNetworkPlan => structuredClone(p);
/** The same value with every object's keys in reverse order. */
const reverseKeys = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(reverseKeys) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)])) : v;

void describe('instance id', () => {
  void it('has the form netlet-<pod>-<16 hex>', () => {
    assert.match(instanceIdFor(base), /^netlet-default-web-0-[0-9a-f]{16}$/);
  });

  void it('is the same for the same plan, built again or with keys in another order', () => {
    const reordered = reverseKeys(base) as PodNetworkPlan;
    const again: PodNetworkPlan = { dns: clone(base).dns, interfaces: clone(base).interfaces, podId: base.podId };
    assert.equal(instanceIdFor(clone(base)), instanceIdFor(base));
    assert.equal(instanceIdFor(again), instanceIdFor(base));
    assert.equal(instanceIdFor(reordered), instanceIdFor(base));
    assert.equal(renderCloudInit(base).instanceId, instanceIdFor(base));
  });

  void it('ignores what the guest config does not carry (sandbox path, DNS options)', () => {
    const p = clone(base);
    p.interfaces[0]!.sandbox = '/var/run/netns/other';
    p.dns.options = ['ndots:2'];
    assert.equal(instanceIdFor(p), instanceIdFor(base));
  });

  void it('changes when the network changes', () => {
    const changes: ((p: PodNetworkPlan) => void)[] = [
      (p) => { p.interfaces[0]!.ips[0]!.address = '10.244.0.6'; },
      (p) => { p.interfaces[0]!.mtu = 1500; },
      (p) => { p.interfaces[0]!.mac = '0a:58:0a:f4:00:06'; },
      (p) => { p.interfaces[0]!.routes.push({ dst: '10.96.0.0/12', family: 4, gateway: '10.244.0.1' }); },
      (p) => { p.dns.nameservers = ['10.96.0.11']; },
      (p) => { p.dns.search = ['svc.cluster.local']; },
      (p) => { p.interfaces[0]!.name = 'eth1'; },
      (p) => { p.podId = 'default/web-1'; },
    ];
    const ids = new Set([instanceIdFor(base)]);
    for (const change of changes) {
      const p = clone(base);
      change(p);
      ids.add(instanceIdFor(p));
    }
    assert.equal(ids.size, changes.length + 1);
  });

  void it('makes pod ids safe for meta-data', () => {
    assert.equal(safePodId('Default/My_Pod.0'), 'default-my-pod-0');
    assert.equal(safePodId('///'), 'pod');
    assert.equal(safePodId('a'.repeat(80)).length, 40);
  });
});

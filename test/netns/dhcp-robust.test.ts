// The DHCP pool under abuse: a worker killed mid-run is replaced and the VM still gets
// its lease at once; 10,000 random packets at port 67 leave the server serving, with
// the rate limit's drops in its counters, and a real client then gets its lease; a
// bridge deleted and made again (LINK_LOST) is served on the new bridge.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { once } from 'node:events';
import { waitFor } from 'xstate';
import { startClient, waitObserved } from '../support/dhcp-clients.js';
import { attachVm, CNI_NET, setupPod, type PodRig } from '../support/dhcp-rig.js';
import { discover, WireClient } from '../support/dhcp-wire.js';
import { assertNoNetnsLeft } from '../support/leaks.js';

let rig: PodRig;

before(async () => {
  rig = await setupPod({ leaseSeconds: 600, poolSize: 2 });
});

after(async () => {
  const tag = rig?.topo.tag;
  await rig?.close();
  if (tag) assertNoNetnsLeft(tag);
});

const leased = (o: { addresses: string[]; resolv?: unknown }): boolean =>
  o.addresses.includes(`${rig.vmIp}/${CNI_NET.prefixLength}`) && o.resolv !== undefined;

void describe('DHCP pool robustness', () => {
  void it('a terminated worker is replaced and the VM gets its lease within 2 s', async (t) => {
    const { vm, detach } = attachVm(rig, 'kill');
    const client = startClient('udhcpc', vm, join(rig.dir, 'kill'));
    try {
      assert.ok(leased(await waitObserved(vm, client, leased, 10_000)), client.output());
      await client.stop();
      vm.ip('-4', 'addr', 'flush', 'dev', 'eth0');
      const workers = rig.pool.workers();
      assert.equal(workers.length, 1, 'one interface, one worker so far');
      const restarted = once(rig.pool, 'restarted');
      const t0 = Date.now();
      await workers[0]!.terminate();
      const [info] = (await restarted) as [{ keys: string[]; cause: string }];
      assert.deepEqual(info.keys, [rig.key]);
      assert.equal(rig.pool.restarts, 1);
      assert.notEqual(rig.pool.workers()[0], workers[0]);
      // How soon the replacement answers: DISCOVERs every 20 ms from the VM's port (the
      // address is held meanwhile so the unicast OFFER reaches our socket).
      vm.ip('addr', 'add', `${rig.vmIp}/${CNI_NET.prefixLength}`, 'dev', 'eth0');
      const probe = await WireClient.open(vm.path, 'eth0', 68);
      let servingMs: number | undefined;
      try {
        for (let i = 0; i < 100 && servingMs === undefined; i++) {
          if ((await probe.exchange(discover(rig.settings.vmMac, 0xdead00 + i), 0xdead00 + i, 20))?.type === 2) servingMs = Date.now() - t0;
        }
      } finally {
        await probe.close();
        vm.ip('-4', 'addr', 'flush', 'dev', 'eth0');
      }
      t.diagnostic(`replacement worker answering ${servingMs} ms after the kill`);
      assert.ok(servingMs !== undefined && servingMs < 1000, `served again after ${servingMs} ms`);
      const again = startClient('udhcpc', vm, join(rig.dir, 'kill2'));
      try {
        const seen = await waitObserved(vm, again, leased, 5000);
        const ms = Date.now() - t0;
        t.diagnostic(`worker killed -> replaced -> lease in ${ms} ms (${info.cause})`);
        assert.ok(leased(seen), again.output());
        assert.ok(ms < 2000, `lease ${ms} ms after the kill`);
      } finally {
        await again.stop();
      }
    } finally {
      await client.stop();
      detach();
    }
  });

  void it('10,000 malformed packets: rate-limited, server keeps serving, a real client then gets its lease', async (t) => {
    const { vm, detach } = attachVm(rig, 'flood');
    const before = rig.pool.status(rig.key)?.counters;
    const flooder = await WireClient.open(vm.path, 'eth0', 68);
    const t0 = Date.now();
    try {
      for (let i = 0; i < 10_000; i++) await flooder.send(randomBytes(randomInt(1, 600)));
    } finally {
      await flooder.close();
    }
    const floodMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 200));
    const after = rig.pool.status(rig.key)!.counters;
    const elapsedS = (Date.now() - t0) / 1000;
    const received = after.received - (before?.received ?? 0);
    const ratelimited = after.ratelimited - (before?.ratelimited ?? 0);
    const malformed = after.malformed - (before?.malformed ?? 0);
    t.diagnostic(`flood of 10000 in ${floodMs} ms: server received ${received}, rate-limited ${ratelimited}, malformed ${malformed}, replies 0`);
    assert.ok(ratelimited > 0, `rate limit drops: ${JSON.stringify(after)}`);
    assert.ok(malformed > 0 && malformed <= 100 + elapsedS * 50, `at most burst + rate x time parsed: ${malformed}`);
    assert.equal(after.offered, before?.offered ?? 0, 'garbage got no OFFER');
    assert.equal(flooder.replies.length, 0);

    const client = startClient('udhcpc', vm, join(rig.dir, 'flood'));
    try {
      const t1 = Date.now();
      const seen = await waitObserved(vm, client, leased, 5000);
      t.diagnostic(`lease after the flood in ${Date.now() - t1} ms`);
      assert.ok(leased(seen), client.output());
      assert.equal(rig.pool.restarts, 1, 'no worker died from the flood');
    } finally {
      await client.stop();
      detach();
    }
  });

  void it('a bridge deleted behind netlet\'s back (LINK_LOST): re-plumbed, and the VM gets its lease on the new bridge', async (t) => {
    // A socket stays bound to the bridge it was made on: the DHCP servers must be made again.
    rig.pod.ip('link', 'del', rig.settings.bridge);
    const t0 = Date.now();
    rig.actor.send({ type: 'LINK_LOST', link: rig.settings.bridge });
    const snap = await waitFor(rig.actor, (s) => s.matches('ready') || s.matches('failed'), { timeout: 10_000 });
    assert.ok(snap.matches('ready'), `recovered: ${JSON.stringify(snap.value)} ${JSON.stringify(snap.context.error)}`);
    assert.ok(rig.pod.links().includes(rig.settings.bridge), 'the bridge is back');
    const { vm, detach } = attachVm(rig, 'rebridged');
    const client = startClient('udhcpc', vm, join(rig.dir, 'rebridged'));
    try {
      const seen = await waitObserved(vm, client, leased, 10_000);
      t.diagnostic(`bridge lost -> re-plumbed -> lease in ${Date.now() - t0} ms`);
      assert.ok(leased(seen), client.output());
    } finally {
      await client.stop();
      detach();
    }
  });
});

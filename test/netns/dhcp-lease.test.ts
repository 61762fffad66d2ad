// Lease life with real clients and a short lease (10 s: T1 5 s, T2 8.75 s): a unicast
// RENEWING request reaches the server (through the isolation table's redirect) and is
// ACKed; with the unicast path blocked the client REBINDs by broadcast and is ACKed.
// A pod IP change: the server NAKs a client's stale address and it gets the new one.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startClient, waitObserved } from '../support/dhcp-clients.js';
import { attachVm, CNI_NET, SERVER_ID, setupPod, type PodRig } from '../support/dhcp-rig.js';
import { readCapture, startCapture, type CapturedFrame } from '../support/dhcp-wire.js';
import { assertNoNetnsLeft } from '../support/leaks.js';

const LEASE = 10;
const REQUEST = 3;
const ACK = 5;
const NAK = 6;
let rig: PodRig;

before(async () => {
  rig = await setupPod({ leaseSeconds: LEASE });
});

after(async () => {
  const tag = rig?.topo.tag;
  await rig?.close();
  if (tag) assertNoNetnsLeft(tag);
});

/** Index of the first REQUEST matching `req` (after `from`) that an ACK to the VM follows. */
function answered(frames: CapturedFrame[], from: number, req: (f: CapturedFrame) => boolean): number {
  for (let i = from; i < frames.length; i++) {
    const f = frames[i]!;
    if (f.type !== REQUEST || !req(f)) continue;
    if (frames.slice(i + 1).some((a) => a.type === ACK && a.ipDst === rig.vmIp && a.time - f.time < 1)) return i;
  }
  return -1;
}

async function until<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

void describe('lease renewal, rebinding and a stale address', () => {
  void it('RENEWING: a unicast REQUEST to the server id is ACKed; REBINDING: a broadcast REQUEST is ACKed', async (t) => {
    const { vm, detach } = attachVm(rig, 'renew');
    const pcap = join(rig.dir, 'renew.pcap');
    const capture = await startCapture(rig.pod.name, rig.settings.tap, pcap);
    // networkd keeps T1/T2 as sent. Measured: udhcpc raises a lease under 16 s and renews
    // late; dhclient's retransmissions outlast such a short T2 and it lets the lease expire.
    const client = startClient('networkd', vm, join(rig.dir, 'renew'));
    const blockTable = `${rig.topo.tag}_blk`;
    try {
      const bound = await waitObserved(vm, client, (o) => o.resolv !== undefined, 10_000);
      assert.deepEqual(bound.addresses, [`${rig.vmIp}/${CNI_NET.prefixLength}`], client.output());
      const t0 = Date.now();
      // RENEWING (RFC 2131 4.4.5): ciaddr set, sent unicast to the server id.
      const renewAt = await until('a unicast RENEWING request and its ACK', 3 * LEASE * 1000, () => {
        const i = answered(readCapture(pcap), 0, (f) => f.ipDst === SERVER_ID && f.ciaddr === rig.vmIp && f.ipSrc === rig.vmIp);
        return i >= 0 ? i : undefined;
      });
      t.diagnostic(`unicast renewal ACKed ${Date.now() - t0} ms after the lease (T1 = ${LEASE / 2} s)`);
      const renew = readCapture(pcap)[renewAt]!;
      // The VM sends it to its gateway's MAC; the isolation table hands it to the bridge.
      assert.notEqual(renew.ethDst, 'ff:ff:ff:ff:ff:ff');
      assert.notEqual(renew.ethDst, rig.settings.bridgeMac);

      // Block the unicast path: renewals now go unanswered until T2, then the client rebinds.
      rig.pod.exec('nft', ['-f', '-'], `table bridge ${blockTable} {
  chain pre { type filter hook prerouting priority -400; policy accept;
    iifname "${rig.settings.tap}" ip daddr ${SERVER_ID} udp dport 67 counter drop
  }
}
`);
      const frameCount = readCapture(pcap).length;
      const t1 = Date.now();
      await until('a broadcast REBINDING request and its ACK', 3 * LEASE * 1000, () => {
        const i = answered(readCapture(pcap), frameCount, (f) => f.ipDst === '255.255.255.255' && f.ciaddr === rig.vmIp);
        return i >= 0 ? i : undefined;
      });
      t.diagnostic(`broadcast rebinding ACKed ${Date.now() - t1} ms after blocking unicast (T2 = ${LEASE * 0.875} s)`);
      const blocked = rig.pod.exec('nft', ['list', 'table', 'bridge', blockTable]);
      assert.match(blocked, /counter packets [1-9]/, 'unicast renewals were dropped');
      const status = rig.pool.status(rig.key);
      assert.ok(status?.lease.bound, 'the lease is bound after rebinding');
      // The client never lost the lease: one DISCOVER only (the first), and the address stayed.
      assert.equal(readCapture(pcap).filter((f) => f.type === 1).length, 1);
      assert.doesNotMatch(client.output(), /lease lost/);
      assert.deepEqual(vm.json('addr', 'show', 'dev', 'eth0')[0].addr_info.filter((a: { family: string }) => a.family === 'inet').map((a: { local: string }) => a.local), [rig.vmIp]);
    } finally {
      rig.pod.exec('nft', ['delete', 'table', 'bridge', blockTable], '');
      await client.stop();
      await capture.stop();
      detach();
    }
  });

  void it('stale address: after the pod IP changes, dhclient INIT-REBOOTs with its old lease, is NAKed and gets the new one', async (t) => {
    const { vm, detach } = attachVm(rig, 'stale');
    const dir = join(rig.dir, 'stale');
    const oldIp = rig.vmIp;
    const newIp = '10.22.0.77';
    const pcap = join(rig.dir, 'stale.pcap');
    let capture: Awaited<ReturnType<typeof startCapture>> | undefined;
    let client = startClient('dhclient', vm, dir);
    try {
      const first = await waitObserved(vm, client, (o) => o.resolv !== undefined, 10_000);
      assert.deepEqual(first.addresses, [`${oldIp}/${CNI_NET.prefixLength}`]);
      await client.stop();
      vm.ip('-4', 'addr', 'flush', 'dev', 'eth0');

      // The pod's IP changes: the server is reconfigured, and the bridge gets the route and
      // neighbour for the new address (what plumbing does for the VM's address).
      rig.pool.reconfigure(rig.key, { ...rig.config, address: newIp });
      rig.pod.ip('route', 'add', `${newIp}/32`, 'dev', rig.settings.bridge, 'src', SERVER_ID);
      rig.pod.ip('neigh', 'replace', newIp, 'lladdr', rig.settings.vmMac, 'dev', rig.settings.bridge, 'nud', 'permanent');
      const naksBefore = rig.pool.status(rig.key)?.counters.naked ?? 0;

      capture = await startCapture(rig.pod.name, rig.settings.tap, pcap);
      const t0 = Date.now();
      client = startClient('dhclient', vm, dir);
      const second = await waitObserved(vm, client, (o) => o.addresses.includes(`${newIp}/${CNI_NET.prefixLength}`) && o.resolv !== undefined, 15_000);
      t.diagnostic(`NAK and new lease in ${Date.now() - t0} ms`);
      assert.deepEqual(second.addresses, [`${newIp}/${CNI_NET.prefixLength}`], client.output());
      await client.stop();
      const frames = await capture.stop();
      capture = undefined;
      // INIT-REBOOT: REQUEST for the old address without a server id, then a broadcast NAK.
      const firstRequest = frames.find((f) => f.type === REQUEST);
      assert.ok(firstRequest && firstRequest.ciaddr === '0.0.0.0', JSON.stringify(frames));
      const nak = frames.find((f) => f.type === NAK);
      assert.ok(nak, `a NAK on the wire: ${JSON.stringify(frames)}`);
      assert.equal(nak.ipDst, '255.255.255.255');
      assert.ok(frames.some((f) => f.type === ACK && f.ipDst === newIp));
      await until('the NAK in the counters', 1000, () => ((rig.pool.status(rig.key)?.counters.naked ?? 0) > naksBefore ? true : undefined));
      assert.match(client.output(), new RegExp(`DHCPREQUEST for ${oldIp.replace(/\./g, '\\.')}`));
      assert.match(client.output(), /DHCPNAK/);
    } finally {
      await client.stop();
      await capture?.stop();
      rig.pool.reconfigure(rig.key, rig.config);
      detach();
    }
  });
});

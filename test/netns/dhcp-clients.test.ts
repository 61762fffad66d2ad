// Real DHCP clients against netlet's server, set up from a real CNI result (bridge +
// host-local): each one must end up with the pod's address, default route, the extra
// classless route, MTU, DNS servers and search list. Meanwhile the cluster side of the
// veth sees no DHCP at all, and a DISCOVER from the cluster side gets no answer.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLIENTS, startClient, type ClientKind, waitObserved, type Observed } from '../support/dhcp-clients.js';
import { attachVm, CNI_NET, SERVER_ID, setupPod, type PodRig } from '../support/dhcp-rig.js';
import { discover, startCapture, WireClient, type CapturedFrame } from '../support/dhcp-wire.js';
import { assertNoNetnsLeft } from '../support/leaks.js';

let rig: PodRig;
let nodeCapture: Awaited<ReturnType<typeof startCapture>> | undefined;
const leaseMs: Record<string, number> = {};

before(async () => {
  rig = await setupPod({ leaseSeconds: 600 });
  // Cluster side of the veth: everything the pod sends towards the node crosses it.
  nodeCapture = await startCapture(rig.node.name, rig.nodeVeth, join(rig.dir, 'node-side.pcap'));
});

after(async () => {
  const tag = rig?.topo.tag;
  await nodeCapture?.stop().catch(() => []);
  await rig?.close();
  if (tag) assertNoNetnsLeft(tag);
  process.stderr.write(`# time to full config per client (ms): ${JSON.stringify(leaseMs)}\n`);
});

// dhcpcd 9 puts the MTU on the routes it adds (its own subnet route included) and
// leaves the link's; networkd adds an on-link host route to each classless gateway.
const expected = (kind: ClientKind): Observed => ({
  addresses: [`${rig.vmIp}/${CNI_NET.prefixLength}`],
  mtu: kind === 'dhcpcd' ? 1500 : CNI_NET.mtu,
  routes: (kind === 'dhcpcd'
    ? [`0.0.0.0/0>${CNI_NET.gateway}`, `${CNI_NET.extraRoute.dst}>${CNI_NET.extraRoute.gateway}`, `${CNI_NET.subnet}>0.0.0.0`].map((r) => `${r} mtu ${CNI_NET.mtu}`)
    : [
      `0.0.0.0/0>${CNI_NET.gateway}`,
      `${CNI_NET.extraRoute.dst}>${CNI_NET.extraRoute.gateway}`,
      ...(kind === 'networkd' ? [`${CNI_NET.gateway}>0.0.0.0`, `${CNI_NET.extraRoute.gateway}>0.0.0.0`] : []),
    ]).sort(),
  resolv: { nameservers: [...CNI_NET.nameservers], search: [...CNI_NET.search] },
});

void describe('real DHCP clients get the CNI config from netlet', () => {
  void it('the server config comes from the CNI result', () => {
    assert.equal(rig.config.clientMac, rig.plan.mac);
    assert.equal(rig.config.address, rig.vmIp);
    assert.ok(rig.vmIp.startsWith('10.22.0.'));
    assert.deepEqual(rig.config.dns.nameservers, CNI_NET.nameservers);
    assert.equal(rig.config.mtu, CNI_NET.mtu);
  });

  for (const kind of CLIENTS) {
    void it(`${kind}: address, default + classless route, MTU, DNS, search; no broadcast flag`, async (t) => {
      const { vm, detach } = attachVm(rig, kind.slice(0, 6));
      const capture = await startCapture(rig.pod.name, rig.settings.tap, join(rig.dir, `${kind}.pcap`));
      const client = startClient(kind, vm, join(rig.dir, kind));
      let frames: CapturedFrame[];
      try {
        const want = expected(kind);
        const t0 = Date.now();
        const seen = await waitObserved(vm, client, (o) => JSON.stringify(o) === JSON.stringify(want), 20_000);
        leaseMs[kind] = Date.now() - t0;
        t.diagnostic(`${kind}: configured in ${leaseMs[kind]} ms`);
        assert.deepEqual(seen, want, `${kind} output:\n${client.output().slice(-3000)}`);
      } finally {
        await client.stop();
        frames = await capture.stop();
        detach();
      }
      const requests = frames.filter((f) => f.type === 1 || f.type === 3);
      const acks = frames.filter((f) => f.type === 5);
      assert.ok(requests.length >= 2 && acks.length >= 1, `DISCOVER/REQUEST and ACK on the wire: ${JSON.stringify(frames)}`);
      assert.deepEqual(requests.filter((f) => f.broadcastFlag), [], `${kind} set the broadcast flag`);
      // No broadcast flag: the OFFER/ACK go unicast to the VM's address and MAC.
      for (const f of frames.filter((x) => x.type === 2 || x.type === 5)) {
        assert.deepEqual([f.ipSrc, f.ipDst, f.ethDst], [SERVER_ID, rig.vmIp, rig.settings.vmMac]);
      }
    });
  }

  void it('isolation: no DHCP frame crossed the cluster side of the veth during the four leases', async () => {
    const frames = await nodeCapture!.stop();
    nodeCapture = undefined;
    assert.deepEqual(frames, []);
    assert.ok((rig.pool.status(rig.key)?.counters.acked ?? 0) >= 4);
  });

  void it('isolation: a DISCOVER for the VM MAC sent from the cluster side is never answered', async () => {
    const before = rig.pool.status(rig.key)?.counters.received ?? 0;
    const capture = await startCapture(rig.pod.name, rig.settings.bridge, join(rig.dir, 'cluster-discover.pcap'));
    // From the node netns, out of the node bridge: the frame reaches the pod's veth.
    const cluster = await WireClient.open(rig.node.path, rig.nodeBridge, 68);
    try {
      for (let i = 0; i < 3; i++) assert.equal(await cluster.exchange(discover(rig.settings.vmMac, 0x5eed0 + i), 0x5eed0 + i, 300), undefined);
      // A unicast attempt at the server id (routed via the node bridge to the pod) is dropped too.
      rig.node.ip('route', 'add', `${SERVER_ID}/32`, 'dev', rig.nodeBridge);
      await cluster.send(discover(rig.settings.vmMac, 0x5eed9), SERVER_ID);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await cluster.close();
    }
    assert.deepEqual(await capture.stop(), [], 'nothing reached the pod bridge');
    assert.equal(rig.pool.status(rig.key)?.counters.received ?? 0, before, 'the server saw nothing');
    assert.deepEqual(cluster.replies, []);
  });
});

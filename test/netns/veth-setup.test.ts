// VethInterface with real parts: veths from the real CNI bridge plugin (host-local IPAM),
// the machine wired to the real kernel io and DHCP pool. After setup the pod netns is
// exactly as designed and the TAP carries frames; after teardown (and a second one)
// links, addresses, routes and the nft ruleset equal the snapshot taken before setup.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeSync } from 'node:fs';
import { parse, serialize, BOOTREQUEST } from '../../src/dhcp/codec.js';
import { closeAsync, openTapFds } from '../../src/io/veth.js';
import { VETH_SETUP_STEPS, VETH_UNDO_STEPS } from '../../src/machines/veth-interface.js';
import {
  VNET_HDR, arpRequest, assertSameNetns, undoSteps, hasTable, makePod, netnsSnapshot, startVeth, tapReader, teardownAgain, teardownVeth, udpBroadcast,
  type PodRig, type VethActor,
} from './veth-rig.js';

/** Links, addresses, routes, neighbour and nft table of veth i are as designed. */
function assertSetUp(r: PodRig, i: number, originalMac: string): void {
  const plan = r.plans[i]!;
  const s = r.settings(i);
  const mtu = plan.mtu!;
  const [veth] = r.pod.json('-d', 'link', 'show', plan.name);
  assert.equal(veth.master, s.bridge, `${plan.name} is enslaved to ${s.bridge}`);
  assert.notEqual(veth.address, originalMac, `${plan.name} has a new MAC (the VM keeps CNI's)`);
  const first = parseInt((veth.address as string).slice(0, 2), 16);
  assert.equal(first & 0x03, 0x02, `${plan.name}'s new MAC ${veth.address} is locally administered unicast`);
  assert.equal(veth.mtu, mtu);
  assert.ok((veth.flags as string[]).includes('UP'));

  const [br] = r.pod.json('-d', 'link', 'show', s.bridge);
  assert.equal(br.linkinfo.info_kind, 'bridge');
  assert.equal(br.linkinfo.info_data.ageing_time, 0, 'an ageing-0 bridge floods (any CNI plugin works)');
  assert.equal(br.address, s.bridgeMac);
  assert.equal(br.mtu, mtu);
  assert.ok((br.flags as string[]).includes('UP'));

  const [tap] = r.pod.json('-d', 'link', 'show', s.tap);
  assert.equal(tap.linkinfo.info_kind, 'tun');
  assert.equal(tap.linkinfo.info_data.type, 'tap');
  assert.equal(tap.linkinfo.info_data.vnet_hdr, true);
  assert.equal(tap.master, s.bridge);
  assert.equal(tap.mtu, mtu, 'the TAP has the veth MTU');
  assert.ok((tap.flags as string[]).includes('UP'));

  const v4 = (dev: string) => r.pod.json('-4', 'addr', 'show', 'dev', dev).flatMap((l: any) => (l.addr_info as any[]).map((a) => `${a.local}/${a.prefixlen}`));
  assert.deepEqual(v4(plan.name), [], `${plan.name} keeps no IPv4 address`);
  assert.deepEqual(v4(s.bridge), [`${s.bridgeAddress}/32`], 'the bridge has only its internal /32');
  assert.deepEqual(r.pod.json('-4', 'route', 'show', 'table', 'all', 'dev', plan.name), [], `no IPv4 route via ${plan.name}`);
  const neigh = r.pod.json('neigh', 'show', 'dev', s.bridge).find((n: any) => n.dst === s.vmAddress);
  assert.ok(neigh, `a neighbour for ${s.vmAddress}`);
  assert.equal(neigh.lladdr, s.vmMac);
  assert.deepEqual(neigh.state, ['PERMANENT']);
  assert.ok(hasTable(r.pod, s.table), `nft table bridge ${s.table}`);
  const rules = r.pod.exec('nft', ['list', 'table', 'bridge', s.table]);
  assert.match(rules, new RegExp(`iifname "${plan.name}" udp dport \\{ 67, 68 \\} drop`));
}

/** The whole main IPv4 table: one /32 per VM, via its bridge, from the bridge's address. */
function assertMainRoutes(r: PodRig): void {
  const got = r.pod.json('-4', 'route').map((x: any) => ({ dst: x.dst, dev: x.dev, gateway: x.gateway, scope: x.scope, prefsrc: x.prefsrc, protocol: x.protocol }));
  const want = r.plans.map((_, i) => {
    const s = r.settings(i);
    return { dst: s.vmAddress, dev: s.bridge, gateway: undefined, scope: 'link', prefsrc: s.bridgeAddress, protocol: undefined };
  });
  const key = (x: { dst?: string }) => x.dst ?? '';
  assert.deepEqual(got.sort((a, b) => key(a).localeCompare(key(b))), want.sort((a, b) => key(a).localeCompare(key(b))));
}

/** A VM on the TAP fd: ARP to the CNI gateway is answered; a DHCPDISCOVER gets netlet's OFFER. */
async function assertTapCarries(r: PodRig, i: number): Promise<void> {
  const s = r.settings(i);
  const plan = r.plans[i]!;
  const gw = `${r.subnet(i)}.1`;
  const [fd] = openTapFds(r.rt, s);
  assert.ok(fd !== undefined);
  const reader = tapReader(fd);
  try {
    const send = (frame: Buffer) => writeSync(fd, Buffer.concat([Buffer.alloc(VNET_HDR), frame]));
    const arpReply = (f: Buffer) => f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 2 && f.subarray(28, 32).equals(Buffer.from(gw.split('.').map(Number)));
    // Through the bridge, out of the veth to the node's gateway, and back in to the TAP.
    const deadline = Date.now() + 5000;
    while (!reader.frames.some(arpReply) && Date.now() < deadline) {
      send(arpRequest(s.vmMac, s.vmAddress!, gw));
      await new Promise((res) => setTimeout(res, 100));
    }
    const reply = await reader.waitFor(arpReply, 100);
    assert.equal(reply.subarray(0, 6).toString('hex'), s.vmMac.replace(/:/g, ''), 'the gateway answers the VM\'s MAC');

    const chaddr = new Uint8Array(16);
    chaddr.set(s.vmMac.split(':').map((h) => parseInt(h, 16)));
    const xid = 0x1234_0000 + i;
    const discover = serialize({
      op: BOOTREQUEST, htype: 1, hlen: 6, hops: 0, xid, secs: 0, flags: 0x8000,
      ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr, sname: '', file: '',
      options: new Map([[53, Uint8Array.of(1)]]),
    });
    const isOffer = (f: Buffer) => {
      if (f.readUInt16BE(12) !== 0x0800 || f[23] !== 17 || f.readUInt16BE(34) !== 67) return false;
      const m = parse(f.subarray(42));
      return m.ok && m.message.xid === xid && m.message.options.get(53)?.[0] === 2;
    };
    const until = Date.now() + 5000;
    while (!reader.frames.some(isOffer) && Date.now() < until) {
      send(udpBroadcast(s.vmMac, 68, 67, discover));
      await new Promise((res) => setTimeout(res, 150));
    }
    const offer = parse((await reader.waitFor(isOffer, 100)).subarray(42));
    assert.ok(offer.ok);
    assert.equal(offer.message.yiaddr, plan.ips.find((x) => x.family === 4)!.address, 'the VM is offered CNI\'s address');
  } finally {
    await reader.stop();
    await closeAsync(fd);
  }
}

const CASES = [
  { count: 1, extraRoutes: true },
  { count: 1, mtu: 1450 },
  { count: 1, mtu: 9000, extraRoutes: true },
  { count: 2, mtu: 1450, extraRoutes: true },
  { count: 4, extraRoutes: true },
  { count: 4, mtu: 9000 },
];

for (const c of CASES) {
  void test(`setup and teardown: ${c.count} veth(s), MTU ${c.mtu ?? 1500}${c.extraRoutes ? ', extra routes' : ''}`, async (t) => {
    const r = await makePod(t, c);
    const before = await netnsSnapshot(r.pod);
    if (c.extraRoutes) {
      const routes = r.pod.json('-4', 'route', 'show', 'dev', 'eth0');
      assert.ok(routes.some((x: any) => x.scope === 'link' && !x.gateway && x.protocol !== 'kernel'), 'a gateway-less scope link route');
      assert.ok(routes.filter((x: any) => x.protocol !== 'kernel').length >= 4, 'several routes on eth0');
    }
    const macs = r.plans.map((p) => p.mac!);

    const actors: VethActor[] = [];
    for (let i = 0; i < r.plans.length; i++) {
      const { actor, snap } = await startVeth(r.io, r.input(i));
      actors.push(actor);
      assert.ok(snap.matches('ready'), `eth${i}: ${JSON.stringify(snap.value)} ${JSON.stringify(snap.context.error)}`);
      assert.deepEqual(snap.context.done, [...VETH_SETUP_STEPS]);
      // The record holds what CNI left: teardown restores from it.
      assert.equal(snap.context.record!.mac, macs[i]);
      assert.equal(snap.context.record!.mtu, c.mtu ?? 1500);
      assert.equal(snap.context.record!.routes.length, (i === 0 ? 2 : 1) + (c.extraRoutes ? 3 : 0));
    }
    for (let i = 0; i < r.plans.length; i++) assertSetUp(r, i, macs[i]!);
    assertMainRoutes(r);
    assert.deepEqual(r.pod.links().sort(), ['lo', ...r.plans.flatMap((p, i) => [p.name, r.settings(i).bridge, r.settings(i).tap])].sort());
    for (let i = 0; i < r.plans.length; i++) await assertTapCarries(r, i);

    const ends = [];
    for (const a of actors) {
      const end = await teardownVeth(a);
      assert.equal(end.status, 'done', `${JSON.stringify(end.value)} ${JSON.stringify(end.context.undoError)}`);
      assert.deepEqual(end.context.done.filter((d) => !d.startsWith('teardown:')), [...VETH_SETUP_STEPS]);
      assert.deepEqual(undoSteps(end.context.done, 'teardown'), VETH_UNDO_STEPS.map((s) => `teardown:${s}`));
      ends.push(end);
    }
    await assertSameNetns(r.pod, before, 'after teardown');
    for (let i = 0; i < r.plans.length; i++) assert.equal(r.pool.isServing(`${r.podId}/${r.plans[i]!.name}`), false);

    // Teardown again (a restarted runtime replaying it): same result, nothing fails.
    for (let i = 0; i < ends.length; i++) {
      const again = await teardownAgain(r.io, r.input(i), ends[i]!);
      assert.equal(again.status, 'done', JSON.stringify(again.context.undoError));
    }
    await assertSameNetns(r.pod, before, 'after a second teardown');
  });
}

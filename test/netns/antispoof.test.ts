// Anti-spoofing on the TAP path, proved on the wire: a "VM" netns on the TAP's side of the
// pod bridge sends every spoof with scapy (test/support/spoof-frames.py) while tcpdump on the
// node side of the pod's veth records what crosses. Spoofs: none cross, each counted under
// its reason; legitimate frames cross; a real DHCP lease and pings to the gateway and
// beyond work. With anti-spoofing off the same spoofs cross (the test can fail).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readSpoofCounters } from '../../src/io/nft.js';
import { SPOOF_REASONS, type SpoofCounters, type SpoofReason } from '../../src/io/nft-rules.js';
import { startClient, waitObserved } from '../support/dhcp-clients.js';
import { attachVm, CNI_NET, setupPod, type PodRig } from '../support/dhcp-rig.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { projectRoot, type Netns } from '../support/netns.js';

const SENDER = join(projectRoot, 'test/support/spoof-frames.py');
const VM_IPV6 = 'fd00:22::5';
const REPEAT = 3;

interface Sent { name: string; reason: SpoofReason | null; hex: string }

/** Frames in a pcap file (libpcap format, either byte order), as hex. */
function pcapFrames(file: string): string[] {
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const out: string[] = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const len = u32(o + 8);
    out.push(b.subarray(o + 16, o + 16 + len).toString('hex'));
    o += 16 + len;
  }
  return out;
}

async function capture(ns: Netns, dev: string, file: string): Promise<() => Promise<string[]>> {
  const proc = spawn('ip', ['netns', 'exec', ns.name, 'tcpdump', '-i', dev, '-n', '-U', '--immediate-mode', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 5000);
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return async () => {
    await new Promise((r) => setTimeout(r, 300));
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await gone;
    return pcapFrames(file);
  };
}

/** Sends every case REPEAT times from the VM's eth0; which crossed (by exact bytes) and how often. */
async function sendAll(rig: PodRig, vm: Netns): Promise<{ sent: Sent[]; crossed: Map<string, number> }> {
  const gatewayMac = rig.node.json<{ address: string }>('link', 'show', rig.nodeBridge)[0]!.address;
  const stop = await capture(rig.node, rig.nodeVeth, join(rig.dir, `node-${vm.name}.pcap`));
  const args = JSON.stringify({ mac: rig.settings.vmMac, ipv4: rig.vmIp, ipv6: VM_IPV6, gateway: CNI_NET.gateway, gatewayMac, repeat: REPEAT });
  const r = spawnSync('ip', ['netns', 'exec', vm.name, '/usr/bin/python3', SENDER, 'eth0', args], { encoding: 'utf8', timeout: 60_000 });
  const frames = await stop();
  assert.equal(r.status, 0, `sender failed: ${r.stderr}`);
  const sent = JSON.parse(r.stdout) as Sent[];
  const crossed = new Map(sent.map((s) => [s.name, frames.filter((f) => f.startsWith(s.hex) || (f.length >= 120 && s.hex.startsWith(f))).length]));
  return { sent, crossed };
}

const counters = (rig: PodRig): SpoofCounters | undefined => readSpoofCounters(rig.rt.netns.fd, rig.settings.table);

/** A VM netns whose kernel stays quiet (no IPv6 of its own): only the sender speaks. */
function quietVm(rig: PodRig, suffix: string): { vm: Netns; detach: () => void } {
  const a = attachVm(rig, suffix);
  a.vm.exec('sysctl', ['-q', '-w', 'net.ipv6.conf.eth0.disable_ipv6=1']);
  return a;
}

const rigs: PodRig[] = [];
after(async () => {
  for (const r of rigs) {
    const tag = r.topo.tag;
    await r.close();
    assertNoNetnsLeft(tag);
  }
});

void describe('anti-spoofing on the TAP path', () => {
  void it('no spoofed frame crosses; each is counted under its reason; legitimate frames cross', async () => {
    const rig = await setupPod({ extraAddresses: [VM_IPV6] });
    rigs.push(rig);
    assert.deepEqual(counters(rig), Object.fromEntries(SPOOF_REASONS.map((r) => [r, 0])), 'every counter starts at 0');
    const { vm, detach } = quietVm(rig, 'vm');
    try {
      const { sent, crossed } = await sendAll(rig, vm);
      const spoofs = sent.filter((s) => s.reason);
      assert.ok(spoofs.length >= 13 && sent.length > spoofs.length);
      for (const s of spoofs) assert.equal(crossed.get(s.name), 0, `spoof crossed: ${s.name}`);
      for (const s of sent.filter((x) => !x.reason)) assert.equal(crossed.get(s.name), REPEAT, `legitimate frame did not cross: ${s.name}`);
      const want = Object.fromEntries(SPOOF_REASONS.map((r) => [r, REPEAT * spoofs.filter((s) => s.reason === r).length]));
      assert.deepEqual(counters(rig), want, 'counters match what was sent per reason');
    } finally {
      detach();
    }
  });

  void it('a real VM still leases from netlet, pings the gateway and beyond; nothing counted', async () => {
    const rig = rigs[0]!;
    const before = counters(rig);
    rig.node.ip('address', 'add', '198.51.100.1/32', 'dev', 'lo');
    const { vm, detach } = quietVm(rig, 'vm2');
    const client = startClient('udhcpc', vm, join(rig.dir, 'udhcpc'));
    try {
      await waitObserved(vm, client, (o) => o.addresses.includes(`${rig.vmIp}/${CNI_NET.prefixLength}`), 20_000);
      // ARP for the gateway goes first: the pings prove it is answered too.
      vm.exec('ping', ['-c', '2', '-W', '2', '-i', '0.2', CNI_NET.gateway]);
      vm.exec('ping', ['-c', '2', '-W', '2', '-i', '0.2', '198.51.100.1']);
      const arp = vm.json<{ dst: string; lladdr?: string }>('neigh', 'show', 'dev', 'eth0').find((n) => n.dst === CNI_NET.gateway);
      assert.ok(arp?.lladdr, 'the gateway was resolved by ARP');
    } finally {
      await client.stop();
      detach();
    }
    assert.deepEqual(counters(rig), before, 'legitimate traffic dropped nothing');
  });

  void it('with anti-spoofing off the spoofs cross (and no counters exist)', async () => {
    const rig = await setupPod({ antiSpoofing: false, extraAddresses: [VM_IPV6] });
    rigs.push(rig);
    assert.equal(counters(rig), undefined);
    const { vm, detach } = quietVm(rig, 'vm');
    try {
      const { sent, crossed } = await sendAll(rig, vm);
      // DHCP server messages and RAs stay in the pod anyway: the isolation drops ports 67/68 and 546/547
      // and router discovery at the veth (docs/ipv6.md).
      const isolated = (x: Sent): boolean => /^DHCPv[46]|router advertisement/.test(x.name);
      for (const s of sent.filter((x) => x.reason && !isolated(x))) assert.equal(crossed.get(s.name), REPEAT, `spoof did not cross with the option off: ${s.name}`);
      for (const s of sent.filter(isolated)) assert.equal(crossed.get(s.name) ?? 0, 0, `isolation keeps ${s.name} in the pod`);
    } finally {
      detach();
    }
  });
});

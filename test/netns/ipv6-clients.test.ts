// IPv6 to the VM end to end (issue #15): a dual-stack pod made by the real bridge plugin
// (host-local IPv4 + IPv6) through the runtime API; real clients in a "VM" netns on the
// TAP side get both addresses, both default routes and DNS from netlet (DHCPv4, DHCPv6,
// RA), and ping over IPv6 a host beyond the gateway. Teardown restores the netns exactly
// (forwarding sysctls included).
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type PodNetwork } from '../../src/index.js';
import { RuntimeRig } from '../support/runtime-rig.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { assertNetnsRestored, settledNetnsView } from '../support/netns-view.js';
import { addIpv6Networks, attachVm, DUAL, FAR, observe6, startClient6, waitFor6, type Client6 } from '../support/ipv6-rig.js';

const silent = pino({ level: 'silent' });
const tapOf = (n: PodNetwork) => {
  const t = n.interfaces.find((i) => i.kind === 'tap');
  assert.ok(t?.kind === 'tap');
  return t;
};

for (const client of ['networkd', 'dhcpcd', 'dhclient'] as Client6[]) {
  void test(`dual stack, ${client}: IPv4 + IPv6 address, both default routes, DNS, ping beyond the gateway over IPv6; exact restore`, async () => {
    const rig = new RuntimeRig();
    // A client in a netns shares the host's files: it must not rewrite the host's DNS.
    const hostResolv = readFileSync('/etc/resolv.conf', 'utf8');
    const rt = await createRuntime({ ...rig.options({ monitorIntervalMs: 0 }), debugSocket: false, logger: silent });
    try {
      addIpv6Networks(rig);
      const pod = rig.pod('p');
      const before = await settledNetnsView(pod);
      const net = await rt.setupPod({ podId: `v6-${client}`, netnsPath: pod.path, annotations: { cni: 'dual' } });
      net.interfaces.forEach((i) => i.kind === 'tap' && i.fds.forEach((fd) => closeSync(fd)));
      const tap = tapOf(net);
      const v4 = tap.ips.find((i) => !i.address.includes(':'))!.address.split('/')[0]!;
      const v6 = tap.ips.find((i) => i.address.includes(':'))!.address.split('/')[0]!;
      const { vm, detach } = attachVm(rig, pod, tap, 'vm', client === 'dhclient');
      const c = startClient6(client, vm, mkdtempSync(join(tmpdir(), `netlet-v6-${client}-`)));
      try {
        const o = () => observe6(vm);
        await waitFor6('both addresses and default routes', () => {
          const x = o();
          return x.v4.includes(v4) && x.v6.includes(v6) && x.default4 && !!x.default6;
        }, 40_000, () => `${JSON.stringify(o())}\n${JSON.stringify(rt.getPod(`v6-${client}`)?.interfaces[0]?.ipv6)}\n${c.output().slice(-3000)}`);
        const got = o();
        assert.equal(got.v6.length, 1, `only the CNI's IPv6 address (no SLAAC): ${got.v6.join(' ')}`);
        assert.match(got.default6!, /^fe80::/, 'the default router is a link-local (the pod bridge)');
        await waitFor6('DNS', () => c.dns().includes(DUAL.dns6), 15_000, () => `${c.dns().join(' ')}\n${c.output().slice(-2000)}`);
        // Beyond the gateway: the far netns behind the node.
        try {
          vm.exec('ping', ['-6', '-c', '1', '-w', '10', FAR]);
        } catch (e) {
          const probe = (ns: typeof vm, dst: string): string => { try { return ns.exec('ping', ['-6', '-c', '1', '-W', '1', dst]).split('\n')[1] ?? ''; } catch (x) { return `${dst}: ${String((x as { stdout?: string }).stdout).split('\n').slice(-3).join(' ')}`; } };
          const dump = [probe(vm, 'fd95::1'), probe(vm, 'fd98::1'), probe(rig.node, FAR), probe(rig.node, v6), probe(pod, 'fd95::1'), pod.ip('-6', 'route', 'show', 'table', 'all'), pod.ip('-6', 'neigh'), pod.ip('-6', 'addr'), vm.ip('-6', 'route'), vm.ip('-6', 'neigh'), rig.node.ip('-6', 'route'), rig.node.ip('-6', 'neigh'),
            pod.exec('sh', ['-c', 'grep -H . /proc/sys/net/ipv6/conf/*/forwarding']), pod.exec('nft', ['list', 'ruleset'])].join('\n----\n');
          throw new Error(`ping ${FAR} failed: ${(e as Error).message}\n${dump}`, { cause: e });
        }
        const st = rt.getPod(`v6-${client}`)!.interfaces[0]!;
        assert.ok(st.ipv6 && st.ipv6.ra.sent >= 1 && st.ipv6.dhcp6.lease.bound, JSON.stringify(st.ipv6));
        assert.ok(st.dhcp?.lease.bound !== false);
      } finally {
        await c.stop();
        await detach();
      }
      await rt.teardownPod(`v6-${client}`);
      await assertNetnsRestored(pod, before, `${client} pod`);
    } finally {
      await rt.close();
      rig.destroy();
    }
    assertNoNetnsLeft(rig.topo.tag);
    assert.equal(readFileSync('/etc/resolv.conf', 'utf8'), hostResolv, 'the host\'s /etc/resolv.conf is untouched');
  });
}

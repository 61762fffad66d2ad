// The control socket through the real unix socket: a pod set up with the TAP fds passed
// by SCM_RIGHTS (proved real by sending a DHCPDISCOVER into them and watching the
// pod's DHCP server count it, also in /metrics), without fds (none leak), bad
// requests, and DELETE; interface hot-plug (attach with the new TAP's fds, detach).
import assert from 'node:assert/strict';
import { closeSync, lstatSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type Runtime } from '../../src/index.js';
import { startControlServer } from '../../src/debug/control.js';
import { attachInterfaceWithFds, controlRequest, detachInterface, setupPodWithFds } from '../../src/debug/control-client.js';
import { discoverFrame, http, httpJson, makeRig, until, writeFrame } from './debug-rig.js';

const quiet = pino({ level: 'silent' });
const tunFds = (): string[] => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === '/dev/net/tun';
  } catch {
    return false;
  }
});

void test('control socket: setup with fds over SCM_RIGHTS, without fds, errors, delete', { timeout: 90_000 }, async (t) => {
  const rig = makeRig(t, { subnet: '10.77.2' });
  const rt: Runtime = await createRuntime({ ...rig.options, tap: { queues: 2 }, logger: quiet });
  t.after(() => rt.close());
  const ctl = await startControlServer(rt, join(rig.runDir, 'control.sock'));
  t.after(() => ctl.close());
  const csock = ctl.path;
  const dsock = join(rig.runDir, 'debug.sock');
  const podId = `pod-${rig.topo.tag}`;
  const tunBefore = tunFds().length;

  await t.test('the control socket is owner-only', () => {
    assert.equal(lstatSync(csock).mode & 0o777, 0o600);
  });

  await t.test('POST /v1/pods with X-Netlet-Fds: the TAP queue fds arrive and are the pod TAP', async () => {
    const { network, fds } = await setupPodWithFds(csock, { podId, netnsPath: rig.pod.path, hostname: 'vm1' });
    try {
      assert.equal(network.podId, podId);
      const eth0 = network.interfaces[0]!;
      assert.equal(eth0.kind, 'tap');
      assert.equal(eth0.kind === 'tap' && eth0.queues, 2);
      assert.ok(!('fds' in eth0) && !('fd' in eth0), 'no fd numbers on the wire');
      assert.deepEqual(Object.keys(fds), ['eth0']);
      assert.equal(fds.eth0!.length, 2);
      for (const fd of fds.eth0!) assert.equal(readlinkSync(`/proc/self/fd/${fd}`), '/dev/net/tun');
      // A frame written to a received fd reaches the pod's DHCP server on that TAP's bridge.
      writeFrame(fds.eth0![1]!, discoverFrame(eth0.mac, 0x1234));
      const st = await until('the DISCOVER counted', () => {
        const d = rt.getPod(podId)?.interfaces[0]?.dhcp;
        return d && d.counters.offered >= 1 ? d : undefined;
      });
      assert.equal(st.counters.received, 1);
      assert.equal(st.lease.state, 'offered');
      const m = await http(dsock, '/metrics');
      assert.match(m.body, new RegExp(`^netlet_dhcp_messages_total\\{pod="${podId}",interface="eth0",type="discover",outcome="offered"\\} 1$`, 'm'));
      assert.match(m.body, new RegExp(`^netlet_dhcp_received_total\\{pod="${podId}",interface="eth0"\\} 1$`, 'm'));
      assert.match(m.body, new RegExp(`^netlet_dhcp_lease_bound\\{pod="${podId}",interface="eth0"\\} 0$`, 'm'));
    } finally {
      for (const fd of Object.values(fds).flat()) closeSync(fd);
    }
    assert.equal(tunFds().length, tunBefore, 'the server closed its copies');
  });

  await t.test('POST /v1/pods without fds: JSON only, no fd left open anywhere in this process', async () => {
    const r = await controlRequest(csock, 'POST', '/v1/pods', { podId, netnsPath: rig.pod.path });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-netlet-fds'], undefined);
    const net = JSON.parse(r.body) as { podId: string; interfaces: { name: string; queues: number }[]; cloudInit: { instanceId: string } };
    assert.equal(net.podId, podId);
    assert.equal(net.interfaces[0]!.queues, 2);
    assert.equal(typeof net.cloudInit.instanceId, 'string');
    assert.equal(tunFds().length, tunBefore);
  });

  await t.test('bad requests: 400 with the field named, 404, 405', async () => {
    const notJson = await http(csock, '/v1/pods', 'POST', '{not json');
    assert.equal(notJson.status, 400);
    assert.match(JSON.parse(notJson.body).error, /not JSON/);
    const invalid = await httpJson(csock, '/v1/pods', 'POST', { podId: 'x' });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.code, 'INVALID_REQUEST');
    assert.match(invalid.json.error, /netnsPath/);
    assert.equal((await httpJson(csock, '/v1/nodes', 'POST', {})).status, 404);
    const get = await httpJson(csock, '/v1/pods');
    assert.equal(get.status, 405);
    assert.equal((await httpJson(csock, `/v1/pods/${podId}`, 'POST', {})).status, 405);
    assert.equal(rt.getPod(podId)?.phase, 'ready');
  });

  await t.test('DELETE /v1/pods/{id} tears the pod down (and is idempotent)', async () => {
    const r = await httpJson(csock, `/v1/pods/${podId}`, 'DELETE');
    assert.deepEqual([r.status, r.json], [200, { podId, deleted: true }]);
    assert.equal(rt.getPod(podId), undefined);
    assert.equal((await httpJson(dsock, `/v1/pods/${podId}`)).status, 404);
    assert.deepEqual(rig.pod.links().filter((l) => l.startsWith('nt-') || l.startsWith('nb-')), [], 'TAP and bridge removed');
    assert.equal((await httpJson(csock, `/v1/pods/${podId}`, 'DELETE')).status, 200);
  });
});

void test('control socket: attach an interface with its TAP fds over SCM_RIGHTS, without fds, errors, detach', { timeout: 90_000 }, async (t) => {
  const rig = makeRig(t, { subnet: '10.77.3' });
  // A second network to attach: its own bridge in the node netns, its own subnet.
  writeFileSync(join(rig.dir, 'conf', '20-dbg2.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: 'dbgnet2',
    plugins: [{ type: 'bridge', bridge: rig.topo.name('br2'), isGateway: true, ipMasq: false, mtu: 1450, ipam: { type: 'host-local', dataDir: join(rig.dir, 'ipam2'), ranges: [[{ subnet: '10.77.4.0/24', gateway: '10.77.4.1' }]] } }],
  }));
  const rt: Runtime = await createRuntime({ ...rig.options, tap: { queues: 2 }, logger: quiet });
  t.after(() => rt.close());
  const ctl = await startControlServer(rt, join(rig.runDir, 'control.sock'));
  t.after(() => ctl.close());
  const csock = ctl.path;
  const podId = `hp-${rig.topo.tag}`;
  const path = `/v1/pods/${podId}/interfaces`;
  assert.equal((await controlRequest(csock, 'POST', '/v1/pods', { podId, netnsPath: rig.pod.path })).status, 200);
  const tunBefore = tunFds().length;

  await t.test('POST /v1/pods/{id}/interfaces with X-Netlet-Fds: the new TAP\'s queue fds arrive and reach its DHCP server', async () => {
    const { interface: eth1, fds } = await attachInterfaceWithFds(csock, podId, { ifName: 'eth1', network: 'dbgnet2' });
    try {
      assert.equal(eth1.kind, 'tap');
      assert.equal(eth1.name, 'eth1');
      assert.equal(eth1.kind === 'tap' && eth1.queues, 2);
      assert.match(eth1.ips[0]!.address, /^10\.77\.4\.\d+\/24$/);
      assert.ok(!('fds' in eth1) && !('fd' in eth1), 'no fd numbers on the wire');
      assert.equal(fds.length, 2);
      for (const fd of fds) assert.equal(readlinkSync(`/proc/self/fd/${fd}`), '/dev/net/tun');
      // Resent every 500 ms as a client would: a new bridge port can drop the first frames (~1 s).
      let sent = 0;
      let next = 0;
      const st = await until('the DISCOVER counted on eth1', () => {
        const d = rt.getPod(podId)?.interfaces.find((i) => i.name === 'eth1')?.dhcp;
        if (d && d.counters.offered >= 1) return d;
        if (Date.now() >= next) {
          writeFrame(fds[1]!, discoverFrame(eth1.mac, 0x4321));
          sent++;
          next = Date.now() + 500;
        }
        return undefined;
      });
      assert.ok(st.counters.received >= 1 && st.counters.received <= sent, `${st.counters.received} received of ${sent} sent`);
      assert.equal(rt.getPod(podId)?.interfaces.find((i) => i.name === 'eth0')?.dhcp?.counters.received ?? 0, 0, 'the frame went to eth1 only');
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    assert.equal(tunFds().length, tunBefore, 'the server closed its copies');
  });

  await t.test('refusals: 409 name in use, 404 unknown pod, 400 unknown network or bad body, 404/405 for other paths; nothing changed', async () => {
    await assert.rejects(attachInterfaceWithFds(csock, podId, { ifName: 'eth1', network: 'dbgnet2' }), (e: { code?: string }) => e.code === 'IFNAME_IN_USE');
    const inUse = await httpJson(csock, path, 'POST', { ifName: 'eth0', network: 'dbgnet2' });
    assert.deepEqual([inUse.status, inUse.json.code], [409, 'IFNAME_IN_USE']);
    const noPod = await httpJson(csock, '/v1/pods/nope/interfaces', 'POST', { ifName: 'eth2', network: 'dbgnet2' });
    assert.deepEqual([noPod.status, noPod.json.code], [404, 'POD_NOT_FOUND']);
    const noNet = await httpJson(csock, path, 'POST', { ifName: 'eth2', network: 'nonet' });
    assert.deepEqual([noNet.status, noNet.json.code], [400, 'CNI_NETWORK_NOT_FOUND']);
    assert.match(noNet.json.error, /dbgnet2/, 'the message lists the networks found');
    const invalid = await httpJson(csock, path, 'POST', { ifName: 'eth2' });
    assert.deepEqual([invalid.status, invalid.json.code], [400, 'INVALID_REQUEST']);
    assert.equal((await http(csock, path, 'POST', '{not json')).status, 400);
    assert.equal((await httpJson(csock, path)).status, 405);
    assert.equal((await httpJson(csock, `${path}/eth1`, 'POST', {})).status, 405);
    assert.equal((await httpJson(csock, `/v1/pods/${podId}/other`, 'POST', {})).status, 404);
    assert.equal((await httpJson(csock, `${path}/eth1/x`, 'DELETE')).status, 404);
    assert.deepEqual(rt.getPod(podId)?.interfaces.map((i) => i.name), ['eth0', 'eth1']);
    assert.equal(rt.getPod(podId)?.phase, 'ready');
  });

  await t.test('DELETE /v1/pods/{id}/interfaces/{ifName} detaches (idempotent); attach without fds answers JSON only', async () => {
    await detachInterface(csock, podId, 'eth1');
    assert.deepEqual(rt.getPod(podId)?.interfaces.map((i) => i.name), ['eth0']);
    assert.deepEqual(rig.pod.links().filter((l) => l.endsWith('-eth1')), [], 'TAP and bridge of eth1 removed');
    const again = await httpJson(csock, `${path}/eth1`, 'DELETE');
    assert.deepEqual([again.status, again.json], [200, { podId, ifName: 'eth1', detached: true }]);
    const r = await controlRequest(csock, 'POST', path, { ifName: 'net2', network: 'dbgnet2' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-netlet-fds'], undefined);
    const i = JSON.parse(r.body) as { name: string; queues: number; attachedAt?: string };
    assert.deepEqual([i.name, i.queues], ['net2', 2]);
    assert.equal(tunFds().length, tunBefore, 'no fd left open');
    assert.ok(rt.getPod(podId)?.interfaces.find((x) => x.name === 'net2')?.attachedAt);
    await detachInterface(csock, podId, 'net2');
    await detachInterface(csock, 'nope', 'eth1');
    assert.equal((await controlRequest(csock, 'DELETE', `/v1/pods/${podId}`)).status, 200);
  });
});

// The control socket through the real unix socket: a pod set up with the TAP fds passed
// by SCM_RIGHTS (proved real by sending a DHCPDISCOVER into them and watching the
// pod's DHCP server count it, also in /metrics), without fds (none leak), bad
// requests, and DELETE.
import assert from 'node:assert/strict';
import { closeSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type Runtime } from '../../src/index.js';
import { startControlServer } from '../../src/debug/control.js';
import { controlRequest, setupPodWithFds } from '../../src/debug/control-client.js';
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

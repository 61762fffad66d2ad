// The real rtnetlink ports against the kernel, in throwaway netns (needs root).
// No SR-IOV NIC (nor dummy module) here: the netns's lo proves the VF requests are well formed (the
// kernel parses them and answers "not a PF" / EOPNOTSUPP) and errors are typed.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createRtNetlink } from 'netlink';
import { NetnsHandle } from '../../../src/io/netns.js';
import { RtnlLinkNetns } from '../../../src/io/sriov/netns-link.js';
import { RtnlPfControl } from '../../../src/io/sriov/rtnl-pf.js';
import { SysError } from '../../../src/model/errors.js';
import { Topology } from '../../support/netns.js';

const topo = new Topology();
after(() => topo.destroy());

void test('RtnlPfControl: VF table read and VF set requests reach the kernel and fail typed on a non-PF', async () => {
  const ns = topo.ns('pf');
  const h = NetnsHandle.open(ns.path);
  const pf = new RtnlPfControl(h.enterSync(() => createRtNetlink()));
  try {
    await assert.rejects(pf.getVf('lo', 0), { code: 'VF_NOT_FOUND' });
    await assert.rejects(pf.getVf('nosuch0', 0), (e: unknown) => e instanceof SysError && e.errno === 'ENODEV');
    await assert.rejects(pf.setVfMac('lo', 0, '02:00:00:00:00:01'), (e: unknown) => e instanceof SysError && e.errno === 'EOPNOTSUPP');
    await assert.rejects(pf.setVfVlan('lo', 0, 100, 0), (e: unknown) => e instanceof SysError && e.errno === 'EOPNOTSUPP');
    await assert.rejects(pf.setVfVlan('lo', 0, 4096, 0), { code: 'BAD_VLAN' });
    await assert.rejects(pf.setVfMac('lo', 0, 'zz'), { code: 'BAD_MAC' });
  } finally {
    pf.close();
    h.close();
  }
});

void test('RtnlLinkNetns: moves a link between netns and renames it there', async () => {
  const a = topo.ns('a');
  const b = topo.ns('b');
  a.ip('link', 'add', 'vfx', 'type', 'veth', 'peer', 'name', 'vfy');
  const links = new RtnlLinkNetns();
  assert.equal(await links.linkExists('vfx', { path: a.path }), true);
  assert.equal(await links.linkExists('eth0', { path: b.path }), false);
  await links.moveLink({ name: 'vfx', from: { path: a.path }, to: { path: b.path }, newName: 'eth0' });
  assert.equal(await links.linkExists('vfx', { path: a.path }), false);
  assert.equal(await links.linkExists('eth0', { path: b.path }), true);
  assert.deepEqual(b.links().sort(), ['eth0', 'lo']);
  // Rename only (same netns).
  await links.moveLink({ name: 'eth0', from: { path: b.path }, to: { path: b.path }, newName: 'net1' });
  assert.deepEqual(b.links().sort(), ['lo', 'net1']);
  await assert.rejects(links.moveLink({ name: 'nosuch', from: { path: a.path }, to: { path: b.path } }), (e: unknown) => e instanceof SysError && e.errno === 'ENODEV');
});

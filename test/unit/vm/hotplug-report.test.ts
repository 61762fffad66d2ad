// The hot-plugged NIC's console report (netlet.hotplug=1) parsed as the boot report is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHotplugReport } from '../../../src/vm/hotplug-report.js';

const serial = [
  'NETLET-READY',
  'NETLET-HOTPLUG add eth1 aa:bb:cc:00:00:02 ok 10.250.2.2/24',
  'NETLET-HOTPLUG-REPORT-BEGIN eth1',
  '## dhcp',
  'eth1:ok',
  '## link',
  'eth1 aa:bb:cc:00:00:02 1500',
  '## addr',
  '3: eth1    inet 10.250.2.2/24 brd 10.250.2.255 scope global eth1\\       valid_lft forever preferred_lft forever',
  '## route',
  'default via 10.250.1.1 dev eth0',
  '10.250.2.0/24 dev eth1 scope link  src 10.250.2.2',
  '## resolv',
  'nameserver 10.250.1.53',
  'search net1.demo.svc.cluster.local',
  'NETLET-HOTPLUG-REPORT-END eth1',
  '',
].join('\r\n');

void test('parseHotplugReport: the NIC with that MAC, its lease, address, MTU, routes and DNS', () => {
  const r = parseHotplugReport(serial, 'AA:BB:CC:00:00:02');
  assert.ok(r);
  assert.deepEqual(r.nic, { name: 'eth1', mac: 'aa:bb:cc:00:00:02', mtu: 1500, addresses: ['10.250.2.2/24'], dhcp: true, dhcp6: false });
  assert.deepEqual(r.routes.filter((x) => x.dev === 'eth1').map((x) => x.dst), ['10.250.2.0/24']);
  assert.deepEqual(r.dns, { nameservers: ['10.250.1.53'], search: ['net1.demo.svc.cluster.local'] });
});

void test('parseHotplugReport: nothing for another MAC or an unfinished block', () => {
  assert.equal(parseHotplugReport(serial, 'aa:bb:cc:00:00:03'), undefined);
  assert.equal(parseHotplugReport(serial.slice(0, serial.indexOf('NETLET-HOTPLUG-REPORT-END')), 'aa:bb:cc:00:00:02'), undefined);
});

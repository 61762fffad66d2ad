// The guest report's IPv6 parts (dhcp6, route6, the IPv6 ping) and ldd parsing for the
// libraries dhcpcd takes into the initramfs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReport } from '../../../src/vm/report.js';
import { parseLdd } from '../../../src/vm/shared-libs.js';

void test('parseLdd: library paths and the loader, no vDSO', () => {
  const out = '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f71)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f72)\n';
  assert.deepEqual(parseLdd(out), ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
});

void test('parseReport: DHCPv6 outcome per interface, IPv6 routes and the IPv6 ping', () => {
  const serial = [
    'NETLET-REPORT-BEGIN', '## dhcp', 'eth0:ok', '## dhcp6', 'eth0:ok', '## link', 'eth0 02:00:00:00:00:01 1450',
    '## addr', '2: eth0    inet 10.95.0.2/24 brd 10.95.0.255 scope global eth0', '2: eth0    inet6 fd95::2/128 scope global',
    '## route', 'default via 10.95.0.1 dev eth0', '## route6', 'fd95::/64 dev eth0  metric 256', 'default via fe80::1 dev eth0  metric 1024',
    '## resolv', 'nameserver fd95::53', 'NETLET-REPORT-END', 'NETLET-PING6 ok fd98::2', 'NETLET-PING ok 10.95.0.1', '',
  ].join('\r\n');
  const r = parseReport(serial)!;
  assert.equal(r.interfaces[0]?.dhcp6, true);
  assert.deepEqual(r.interfaces[0]?.addresses, ['10.95.0.2/24', 'fd95::2/128']);
  assert.deepEqual(r.routes6.map((x) => [x.dst, x.via]), [['fd95::/64', undefined], ['default', 'fe80::1']]);
  assert.deepEqual(r.ping6, { ok: true, target: 'fd98::2' });
  assert.equal(parseReport(serial.replace('NETLET-PING6 ok fd98::2\r\n', ''))?.ping6, undefined);
});

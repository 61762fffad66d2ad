// Tables, pod details and the pretty log formatter: plain text unless colour is on.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { PodStatus } from '../../../src/actors/types.js';
import { eventLines, podDetails, statusTable, styleFor, table, visibleLength } from '../../../src/cli/format.js';
import { formatLogLine, prettyStream } from '../../../src/cli/log-pretty.js';

const ESC = String.fromCharCode(27);
const stripAnsi = (s: string): string => s.split(ESC).map((part, i) => (i === 0 ? part : part.replace(/^\[[0-9;]*m/, ''))).join('');
const plain = { color: false };
const colour = { color: true };

const pod: PodStatus = {
  podId: 'p1', phase: 'ready',
  interfaces: [
    { name: 'eth0', kind: 'tap', state: 'ready', mac: '02:00:00:00:00:01', ips: ['10.0.0.2/24'], tapName: 'nt-eth0', bridgeName: 'nb-eth0',
      dhcp: { counters: { received: 3, offered: 1, acked: 1, naked: 0, ignored: 1, malformed: 0, informed: 0, released: 0, declined: 0, ratelimited: 0 }, lease: { address: '10.0.0.2', state: 'bound', bound: true, expiresAt: 0 }, conflicts: [], trimmed: { replies: 0, options: 0 } } },
    { name: 'net1', kind: 'sriov', state: 'failed', pciAddress: '0000:3b:02.1', error: 'vfio bind failed', lastError: { code: 'EBUSY', message: 'vfio bind failed', at: '2026-01-01T00:00:00.000Z' } },
  ],
};

void test('colour only on a TTY without NO_COLOR', () => {
  assert.deepEqual(styleFor({ isTTY: true }, {}), colour);
  assert.deepEqual(styleFor({ isTTY: true }, { NO_COLOR: '1' }), plain);
  assert.deepEqual(styleFor({}, {}), plain);
});

void test('table columns align on visible width, with or without colour', () => {
  for (const s of [plain, colour]) {
    const out = statusTable([pod], s).trimEnd().split('\n');
    assert.equal(out.length, 3);
    const col = (line: string, word: string): number => stripAnsi(line).indexOf(word);
    assert.equal(col(out[0]!, 'IFACE'), col(out[1]!, 'eth0'));
    assert.equal(col(out[0]!, 'IFACE'), col(out[2]!, 'net1'));
    assert.equal(col(out[0]!, 'DEVICE'), col(out[1]!, 'nt-eth0@nb-eth0'));
    assert.equal(col(out[0]!, 'DEVICE'), col(out[2]!, '0000:3b:02.1'));
    assert.equal(col(out[0]!, 'DHCP'), col(out[1]!, 'bound rx=3 ack=1'));
  }
  assert.ok(!statusTable([pod], plain).includes('\x1b['));
  assert.ok(statusTable([pod], colour).includes(`${ESC}[31mfailed${ESC}[0m`));
  assert.equal(statusTable([], plain), 'no pods\n');
  assert.equal(visibleLength('\x1b[32mready\x1b[0m'), 5);
  assert.equal(table(['A', 'B'], [['xx', 'y']], plain), 'A   B\nxx  y\n');
});

void test('pod details and events', () => {
  const d = podDetails(pod, plain);
  assert.match(d, /^pod {4}p1\nphase {2}ready\n/);
  assert.match(d, /^ {2}dhcp {7}received 3: offered 1, acked 1, naked 0, informed 0, released 0, declined 0, ignored 1/m);
  assert.match(d, /^ {2}last error EBUSY: vfio bind failed \(2026-01-01T00:00:00.000Z\)$/m);
  const ev = eventLines([{ at: 'T1', machine: 'pod', from: 'new', to: 'settingUp' }, { at: 'T2', machine: 'interface', interface: 'eth0', from: 'new', to: 'capturing.running' }], plain);
  assert.equal(ev, 'TIME  MACHINE  TRANSITION\nT1    pod      new -> settingUp\nT2    eth0     new -> capturing.running\n');
  assert.equal(eventLines([], plain), 'no events\n');
});

void test('pretty logs: prefix from podId/iface/machine/state, other fields as key=value', () => {
  const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 3, 4, 567), pid: 1, hostname: 'h', podId: 'p1', iface: 'eth0', machine: 'vethInterface', state: 'ready', msg: 'eth0: lost', code: 'DHCP_LOST', err: 'worker exited' });
  assert.equal(formatLogLine(line, plain), '12:03:04.567 WARN  [p1/eth0 vethInterface ready] eth0: lost  code=DHCP_LOST err="worker exited"');
  assert.equal(formatLogLine('not json', plain), 'not json');
  assert.equal(formatLogLine('{"a":1}', plain), '{"a":1}');
  assert.ok(formatLogLine(line, colour).includes(`${ESC}[33mWARN `));
});

void test('pretty stream splits chunks into lines', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const s = prettyStream(out, plain);
  const a = JSON.stringify({ level: 30, time: 0, msg: 'one' });
  const b = JSON.stringify({ level: 50, time: 0, msg: 'two', podId: 'p' });
  s.write(a.slice(0, 10));
  s.write(`${a.slice(10)}\n${b}`);
  await new Promise<void>((r) => s.end(r));
  assert.equal(text, '00:00:00.000 INFO  one\n00:00:00.000 ERROR [p] two\n');
});

void test('inspect shows the last hot-plug change and when each interface was attached', () => {
  const hp: PodStatus = {
    ...pod,
    lastChange: { op: 'attach', interface: 'eth1', outcome: 'rolledBack', error: 'nb-eth1 already exists' },
    interfaces: [pod.interfaces[0]!, { name: 'eth1', kind: 'tap', state: 'ready', attachedAt: '2026-12-02T10:00:00.000Z', tapName: 'nt-eth1', bridgeName: 'nb-eth1' }],
  };
  const out = podDetails(hp, plain);
  assert.match(out, /^change attach eth1: rolledBack \(nb-eth1 already exists\)$/m);
  assert.match(out, /^eth1 \(tap\) {2}ready\n {2}attached {3}2026-12-02T10:00:00\.000Z$/m);
  assert.doesNotMatch(out.split('eth1 (tap)')[0]!, /attached/, 'eth0 came with setup: no attach time');
  assert.match(stripAnsi(podDetails({ ...hp, lastChange: { op: 'detach', interface: 'eth1', outcome: 'done' } }, colour)), /^change detach eth1: done$/m);
  assert.doesNotMatch(podDetails(pod, plain), /^change/m);
});

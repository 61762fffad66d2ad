// Anti-spoofing through the runtime: spoofed frames written into a pod's TAP fd show up as
// drops per reason in getPod and /metrics, and as one rate-limited warning from the monitor;
// with `antiSpoofing: false` the runtime warns at start and the table has no filter.
import assert from 'node:assert/strict';
import { closeSync, writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type PodNetwork, type Runtime } from '../../src/index.js';
import { renderMetrics } from '../../src/debug/metrics.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { RuntimeRig } from '../support/runtime-rig.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));

/** An IPv4 ICMP frame as the VM would write it to the TAP (after a zero virtio-net header). */
function frame(srcMac: string, srcIp: string): Buffer {
  const ip = Buffer.alloc(28);
  ip[0] = 0x45;
  ip.writeUInt16BE(28, 2);
  ip[8] = 64;
  ip[9] = 1;
  Buffer.from(srcIp.split('.').map(Number)).copy(ip, 12);
  Buffer.from([10, 91, 0, 1]).copy(ip, 16);
  ip[20] = 8; // echo request
  return Buffer.concat([Buffer.alloc(10), Buffer.alloc(6, 0xff), macBytes(srcMac), Buffer.from([0x08, 0x00]), ip]);
}

function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function withRuntime(extra: Record<string, unknown>, fn: (rt: Runtime, rig: RuntimeRig, lines: Record<string, unknown>[]) => Promise<void>): Promise<void> {
  const rig = new RuntimeRig();
  const { logger, lines } = capturingLogger();
  let rt: Runtime | undefined;
  try {
    rt = await createRuntime({ ...rig.options(extra), debugSocket: false, logger });
    await fn(rt, rig, lines);
  } finally {
    await rt?.close();
    rig.destroy();
  }
  assertNoNetnsLeft(rig.topo.tag);
}

const tapOf = (n: PodNetwork): Extract<PodNetwork['interfaces'][number], { kind: 'tap' }> => {
  const t = n.interfaces.find((i) => i.kind === 'tap');
  assert.ok(t?.kind === 'tap', 'a TAP interface');
  return t;
};

void test('spoofed frames into the TAP: drops per reason in getPod and /metrics, one warning per minute', async () => {
  await withRuntime({ monitorIntervalMs: 100 }, async (rt, rig, lines) => {
    const pod = rig.pod('p');
    const net = await rt.setupPod({ podId: 'as-1', netnsPath: pod.path });
    const tap = tapOf(net);
    const ip = tap.ips[0]!.address.split('/')[0]!;
    try {
      assert.deepEqual(rt.getPod('as-1')!.interfaces[0]!.antiSpoofing, { enabled: true, dropped: { mac: 0, ipv4: 0, arp: 0, ipv6: 0, nd: 0, ra: 0, dhcp: 0, ethertype: 0 } });
      for (let i = 0; i < 3; i++) writeSync(tap.fd, frame('0a:58:de:ad:be:ef', ip));
      for (let i = 0; i < 2; i++) writeSync(tap.fd, frame(tap.mac, '10.91.0.250'));
      writeSync(tap.fd, frame(tap.mac, ip)); // legitimate
      const dropped = rt.getPod('as-1')!.interfaces[0]!.antiSpoofing!.dropped!;
      assert.deepEqual(rt.getPod('as-1', { counters: false })!.interfaces[0]!.antiSpoofing, { enabled: true }, 'counters: false reads none');
      assert.deepEqual((await rt.readPod('as-1'))!.interfaces[0]!.antiSpoofing, { enabled: true, dropped }, 'readPod: the same counters, read off the event loop');
      assert.deepEqual((await rt.readPods())[0]!.interfaces[0]!.antiSpoofing, { enabled: true, dropped });
      assert.deepEqual({ mac: dropped.mac, ipv4: dropped.ipv4 }, { mac: 3, ipv4: 2 });
      const metrics = renderMetrics({ listPods: () => rt.listPods(), stats: () => rt.stats() });
      assert.ok(metrics.includes('netlet_antispoof_dropped_total{pod="as-1",interface="eth0",reason="mac"} 3'), metrics);
      const warned = (): Record<string, unknown>[] => lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('anti-spoofing dropped'));
      for (const end = Date.now() + 3000; warned().length === 0 && Date.now() < end; ) await sleep(50);
      assert.equal(warned().length, 1);
      assert.deepEqual([warned()[0]!.podId, warned()[0]!.iface, warned()[0]!.level, warned()[0]!.dropped], ['as-1', 'eth0', 40, { mac: 3, ipv4: 2 }]);
      // A flood within the minute: no more lines.
      for (let i = 0; i < 200; i++) writeSync(tap.fd, frame('0a:58:de:ad:be:ef', ip));
      await sleep(500);
      assert.equal(warned().length, 1);
      assert.equal(rt.getPod('as-1')!.interfaces[0]!.antiSpoofing!.dropped!.mac, 203);
    } finally {
      for (const fd of tap.fds) closeSync(fd);
      await rt.teardownPod('as-1');
    }
    assert.ok(!pod.exec('nft', ['list', 'ruleset']).includes('netlet_'), 'teardown removed the table');
  });
});

void test('antiSpoofing: false: a warning at start, status says off, no filter in the table', async () => {
  await withRuntime({ antiSpoofing: false }, async (rt, rig, lines) => {
    assert.ok(lines.some((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('anti-spoofing is off')));
    const pod = rig.pod('p');
    const net = await rt.setupPod({ podId: 'as-2', netnsPath: pod.path });
    try {
      assert.deepEqual(rt.getPod('as-2')!.interfaces[0]!.antiSpoofing, { enabled: false });
      const rules = pod.exec('nft', ['list', 'ruleset']);
      assert.ok(rules.includes('table bridge netlet_eth0') && !rules.includes('spoof'), rules);
    } finally {
      for (const fd of tapOf(net).fds) closeSync(fd);
      await rt.teardownPod('as-2');
    }
  });
});

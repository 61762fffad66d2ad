// The pool's options reach its worker: with `rateLimit: false` a burst far beyond the
// default bucket is answered in full, a serve request's own limit still applies, and a
// reply too large for 576 octets comes back to the main thread as a 'log' warning with
// the options dropped, and in the status. A serve resolves without waiting for its worker,
// yet what arrives right after is answered; one that cannot be served fails at once, typed,
// leaving no socket. A bare bridge in a throwaway netns, no CNI.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { BROADCAST_FLAG, type DhcpServerConfig } from '../../src/dhcp/index.js';
import { DhcpPool } from '../../src/io/dhcp-pool.js';
import type { Ipv6Serve } from '../../src/io/dhcp-protocol.js';
import { duidLl } from '../../src/dhcp6/duid.js';
import { request, WireClient } from '../support/dhcp-wire.js';
import { assertNoFdLeak, assertNoNetnsLeft, fdSnapshot } from '../support/leaks.js';
import { Topology, vethPair, waitUp, type Netns } from '../support/netns.js';

const KEY = 'pod-opts/eth0';
const SERVER_ID = '169.254.253.1';
let topo: Topology;
let pod: Netns;
let vm: Netns;
let mac: string;
let pool: DhcpPool;
let client: WireClient;

/** 20 routes and long search domains: 548 octets hold everything but option 119. */
const config = (): DhcpServerConfig => ({
  clientMac: mac,
  address: '10.1.0.5',
  prefixLength: 24,
  gateway: '10.1.0.1',
  routes: [
    { dst: '0.0.0.0/0', family: 4, gateway: '10.1.0.1' },
    ...Array.from({ length: 20 }, (_, i) => ({ dst: `10.${100 + i}.0.0/16`, family: 4 as const, gateway: '10.1.0.254' })),
  ],
  dns: { nameservers: ['10.96.0.10'], search: Array.from({ length: 8 }, (_, i) => `ns${i}.svc.cluster-with-a-rather-long-name-${i}.example.org`) },
  mtu: 1450,
  serverId: SERVER_ID,
});

/** DHCPv6 for one address and RAs with no options. */
const ipv6 = (): Ipv6Serve => ({
  dhcp6: { serverDuid: duidLl('02:aa:00:00:00:01'), addresses: [{ address: 'fd00:1::5', prefixLength: 64 }], dns: { nameservers: [], search: [] }, preferredLifetime: 3600, validLifetime: 7200, rapidCommit: false, informationRefreshSeconds: 86400 },
  ra: { curHopLimit: 64, managed: true, other: true, preference: 'medium', routerLifetime: 1800, reachableTime: 0, retransTimer: 0, prefixes: [], routes: [], rdnss: [], dnssl: [] },
});

/** A DISCOVER with the broadcast bit, so the OFFER reaches the VM without an address. */
const discover = (xid: number): Uint8Array => {
  const p = request(mac, xid, 1);
  p[10] = BROADCAST_FLAG >> 8;
  return p;
};

async function until<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  for (const deadline = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 20))) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

before(async () => {
  topo = new Topology();
  pod = topo.ns('pod');
  vm = topo.ns('vm');
  pod.ip('link', 'add', 'br0', 'type', 'bridge', 'ageing_time', '0');
  pod.ip('addr', 'add', `${SERVER_ID}/32`, 'dev', 'br0');
  vethPair(pod, 'p0', vm, 'eth0');
  pod.ip('link', 'set', 'p0', 'master', 'br0');
  pod.ip('link', 'set', 'br0', 'up');
  await waitUp(vm, 'eth0');
  mac = vm.json<{ address: string }>('link', 'show', 'eth0')[0]!.address;
  pool = new DhcpPool(1, { rateLimit: false });
  client = await WireClient.open(vm.path, 'eth0', 68);
});

after(async () => {
  await client?.close();
  await pool?.close();
  topo?.destroy();
  if (topo) assertNoNetnsLeft(topo.tag);
});

void describe('DHCP pool options in the worker', () => {
  void it('rateLimit false: 300 DISCOVERs back to back are all answered; a trimmed reply warns', async () => {
    const warned = once(pool, 'log');
    await pool.serve({ key: KEY, netnsPath: pod.path, bridge: 'br0', config: config() });
    // One at a time (a blind burst would overflow the socket buffers), still far faster
    // than the default bucket (burst 100, 50/s) allows.
    const t0 = Date.now();
    for (let i = 0; i < 300; i++) assert.equal((await client.exchange(discover(0x100 + i), 0x100 + i, 1000))?.type, 2, `OFFER ${i}`);
    assert.ok(Date.now() - t0 < 3000, `300 exchanges in ${Date.now() - t0} ms`);
    const st = await until('300 offers in the status', 5000, () => {
      const s = pool.status(KEY);
      return s && s.counters.received >= 300 ? s : undefined;
    });
    assert.equal(st.counters.ratelimited, 0);
    assert.equal(st.counters.offered, 300);
    // Every OFFER lost option 119 to fit 548 octets: counted, and warned about.
    assert.deepEqual(st.trimmed, { replies: 300, options: 300 });
    const [info] = (await warned) as [{ key: string; level: string; msg: string; fields: { dropped: number[]; maxSize: number; size: number } }];
    assert.equal(info.key, KEY);
    assert.equal(info.level, 'warn');
    assert.deepEqual(info.fields.dropped, [119]);
    assert.equal(info.fields.maxSize, 548);
    assert.ok(info.fields.size <= 548);
    await pool.stop(KEY);
  });

  void it('a serve request\'s own rateLimit overrides the pool\'s', async () => {
    client.replies.length = 0;
    await pool.serve({ key: KEY, netnsPath: pod.path, bridge: 'br0', config: config(), rateLimit: { ratePerSecond: 1, burst: 5 } });
    for (let i = 0; i < 30; i++) await client.send(discover(0x1000 + i));
    const st = await until('30 messages in the status', 5000, () => {
      const s = pool.status(KEY);
      return s && s.counters.received >= 30 ? s : undefined;
    });
    assert.ok(st.counters.offered >= 5 && st.counters.offered <= 7, JSON.stringify(st.counters));
    assert.equal(st.counters.ratelimited, 30 - st.counters.offered);
    await pool.stop(KEY);
  });

  void it('a serve resolves before its worker reads, and a DISCOVER sent at once is answered; a stop leaves no socket', async () => {
    const fds = fdSnapshot();
    for (let i = 0; i < 20; i++) {
      await pool.serve({ key: KEY, netnsPath: pod.path, bridge: 'br0', config: config(), ...(i % 2 ? { ipv6: ipv6() } : {}) });
      // The socket is bound when serve resolves: this waits in it until the worker reads.
      assert.equal((await client.exchange(discover(0x3000 + i), 0x3000 + i, 1000))?.type, 2, `OFFER ${i}`);
      await pool.stop(KEY);
    }
    assertNoFdLeak(fds, '20 serves and stops');
  });

  void it('a re-serve that adds DHCPv4 to an IPv6-only interface starts it; a stop leaves no socket', async () => {
    const fds = fdSnapshot();
    await pool.serve({ key: KEY, netnsPath: pod.path, bridge: 'br0', ipv6: ipv6() });
    assert.equal(await client.exchange(discover(0x3600), 0x3600, 300), undefined, 'no DHCPv4 yet');
    await pool.serve({ key: KEY, netnsPath: pod.path, bridge: 'br0', config: config(), ipv6: ipv6() });
    assert.equal((await client.exchange(discover(0x3601), 0x3601, 2000))?.type, 2, 'DHCPv4 served after the re-serve');
    await pool.stop(KEY);
    assertNoFdLeak(fds, 'a re-serve adding DHCPv4');
  });

  void it('what cannot be served fails at once, typed, with no socket left and nothing served', async () => {
    const fds = fdSnapshot();
    await assert.rejects(pool.serve({ key: KEY, netnsPath: pod.path, bridge: 'no-such-br', config: config() }), (e: { code?: string; message?: string }) => e.code === 'ENODEV' && /^DHCP for pod-opts\/eth0: /.test(e.message ?? ''));
    await assert.rejects(pool.serve({ key: KEY, netnsPath: pod.path, bridge: 'br0', config: { ...config(), prefixLength: 40 } }), (e: { message?: string }) => /^DHCP for pod-opts\/eth0: /.test(e.message ?? ''));
    await assert.rejects(pool.serve({ key: KEY, netnsPath: pod.path, bridge: 'br0', config: config(), ipv6: { ...ipv6(), dhcp6: { ...ipv6().dhcp6, preferredLifetime: 9000 } } }), /DHCP for pod-opts\/eth0: DHCPv6 config preferredLifetime/);
    assert.equal(pool.isServing(KEY), false);
    assertNoFdLeak(fds, 'failed serves');
    // And the key serves normally afterwards.
    await pool.serve({ key: KEY, netnsPath: pod.path, bridge: 'br0', config: config() });
    assert.equal((await client.exchange(discover(0x3100), 0x3100, 1000))?.type, 2);
    await pool.stop(KEY);
  });

  void it('a worker that dies before or after reading a serve leaves no socket behind; the key is served again', async () => {
    const fds = fdSnapshot();
    for (const when of ['before', 'after'] as const) {
      const p2 = new DhcpPool(1, { rateLimit: false });
      try {
        await p2.serve({ key: KEY, netnsPath: pod.path, bridge: 'br0', config: config() });
        // A fresh worker is still starting (~80 ms): killed now, it never read the serve.
        if (when === 'after') assert.equal((await client.exchange(discover(0x3200), 0x3200, 2000))?.type, 2, 'served before the kill');
        const restarted = once(p2, 'restarted');
        await p2.workers()[0]!.terminate();
        await restarted;
        // The new worker starts, then reads the pool's sockets: a client retransmits meanwhile.
        let reply: number | undefined;
        for (let xid = 0x3300, t0 = Date.now(); reply === undefined && Date.now() - t0 < 5000; xid++) reply = (await client.exchange(discover(xid), xid, 200))?.type;
        assert.equal(reply, 2, `${when}: served again by the new worker`);
      } finally {
        await p2.close();
      }
    }
    assertNoFdLeak(fds, 'killed workers');
  });

  void it('a stop its worker does not confirm in time ends that worker; its sockets close after it, its other keys are served again', async () => {
    const fds = fdSnapshot();
    const p2 = new DhcpPool(1, { rateLimit: false, serveTimeoutMs: 0 });
    const offered = async (from: number): Promise<number | undefined> => {
      let reply: number | undefined;
      for (let xid = from, t0 = Date.now(); reply === undefined && Date.now() - t0 < 5000; xid++) reply = (await client.exchange(discover(xid), xid, 200))?.type;
      return reply;
    };
    try {
      await p2.serve({ key: 'pod-a/eth0', netnsPath: pod.path, bridge: 'br0', config: config() });
      await p2.serve({ key: 'pod-b/eth0', netnsPath: pod.path, bridge: 'br0', config: config() });
      assert.equal(await offered(0x3400), 2, 'served');
      const restarted = once(p2, 'restarted') as Promise<[{ keys: string[]; cause: string }]>;
      // A message the worker ignores, but takes tens of ms to copy in: it cannot answer the
      // stop within the pool's timeout (0 ms here).
      p2.workers()[0]!.postMessage({ op: 'none', pad: new Uint8Array(64 << 20) });
      await p2.stop('pod-a/eth0');
      const [info] = await Promise.race([restarted, new Promise<never>((_, no) => setTimeout(() => no(new Error('the silent worker was not replaced')), 2000))]);
      assert.deepEqual(info.keys, ['pod-b/eth0']);
      assert.match(info.cause, /did not confirm a stop/);
      assert.equal(p2.isServing('pod-a/eth0'), false);
      assert.equal(await offered(0x3500), 2, 'the other key served by the replacement');
    } finally {
      await p2.close();
    }
    assertNoFdLeak(fds, 'a stop that timed out');
  });
});

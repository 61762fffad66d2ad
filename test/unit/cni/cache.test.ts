import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachePath, CniCacheError, listCacheEntries, readCacheEntry } from '../../../src/cni/index.js';
import { deleteCacheEntry, writeCacheEntry } from '../../../src/cni/cache.js';

const entry = (containerId: string, ifName: string, index: number) => ({
  network: 'podnet',
  containerId,
  ifName,
  netns: '/run/netns/x',
  cniArgs: [['K8S_POD_NAME', 'p']] as [string, string][],
  config: { cniVersion: '1.0.0', name: 'podnet', plugins: [{ type: 'bridge' }] },
  result: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] },
  index,
});

void test('cache: libcni layout and fields, read back, list in order, delete', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netlet-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = await writeCacheEntry(dir, entry('c1', 'eth1', 1));
  await writeCacheEntry(dir, entry('c1', 'eth0', 0));
  await writeCacheEntry(dir, entry('c2', 'eth0', 0));
  assert.equal(path, join(dir, 'results', 'podnet-c1-eth1'));
  assert.equal(cachePath(dir, { network: 'podnet', containerId: 'c1', ifName: 'eth1' }), path);
  const onDisk = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(onDisk.kind, 'cniCacheV1');
  assert.equal(onDisk.containerId, 'c1');
  assert.equal(onDisk.ifName, 'eth1');
  assert.equal(onDisk.networkName, 'podnet');
  assert.deepEqual(JSON.parse(Buffer.from(onDisk.config, 'base64').toString()), entry('c1', 'eth1', 1).config);
  assert.deepEqual(onDisk.result, entry('c1', 'eth1', 1).result);
  assert.deepEqual(await readCacheEntry(dir, { network: 'podnet', containerId: 'c1', ifName: 'eth1' }), entry('c1', 'eth1', 1));
  assert.equal(await readCacheEntry(dir, { network: 'podnet', containerId: 'c9', ifName: 'eth0' }), undefined);
  assert.deepEqual((await listCacheEntries(dir, { containerId: 'c1' })).entries.map((e) => e.ifName), ['eth0', 'eth1']);
  assert.equal((await listCacheEntries(dir)).entries.length, 3);
  assert.ok(!readdirSync(join(dir, 'results')).some((n) => n.startsWith('.tmp')), 'no temp files left');
  await deleteCacheEntry(dir, entry('c1', 'eth1', 1));
  await deleteCacheEntry(dir, entry('c1', 'eth1', 1)); // twice: fine
  assert.deepEqual((await listCacheEntries(dir, { containerId: 'c1' })).entries.map((e) => e.ifName), ['eth0']);
});

void test('cache: an unreadable entry is a typed error on read and reported (not fatal) on list', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netlet-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await writeCacheEntry(dir, entry('c1', 'eth0', 0));
  writeFileSync(join(dir, 'results', 'podnet-c3-eth0'), '{"kind":"other"}');
  await assert.rejects(readCacheEntry(dir, { network: 'podnet', containerId: 'c3', ifName: 'eth0' }), (e: unknown) => e instanceof CniCacheError && /kind/.test(e.message));
  const l = await listCacheEntries(dir);
  assert.equal(l.entries.length, 1);
  assert.equal(l.unreadable.length, 1);
  assert.deepEqual((await listCacheEntries(join(dir, 'none'))).entries, []);
});

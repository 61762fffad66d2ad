import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CniConfigError,
  CniNetworkNotFoundError,
  CniVersionMissingError,
  CniVersionUnsupportedError,
  loadNetworkConfig,
  loadNetworkConfigs,
  parseNetworkConfig,
} from '../../../src/cni/index.js';

function confDir(t: { after: (f: () => void) => void }, files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'netlet-conf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
  return dir;
}

const bridge = (name: string, v = '1.0.0') => ({ cniVersion: v, name, type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', subnet: '10.1.0.0/24' } });

void test('loads .conf, .conflist and .json sorted by file name; .conf is a one-plugin list; other files ignored', async (t) => {
  const dir = confDir(t, {
    '20-b.conflist': { cniVersion: '0.4.0', name: 'b', plugins: [{ type: 'ptp' }, { type: 'tuning', mtu: 1400 }] },
    '10-a.conf': bridge('a'),
    '30-c.json': bridge('c', '0.3.1'),
    '05-skip.txt': 'not a config',
    '06-skip.conf.bak': '{',
  });
  const all = await loadNetworkConfigs(dir);
  assert.deepEqual(all.map((c) => [c.name, c.cniVersion, c.plugins.map((p) => p.type)]), [
    ['a', '1.0.0', ['bridge']],
    ['b', '0.4.0', ['ptp', 'tuning']],
    ['c', '0.3.1', ['bridge']],
  ]);
  const a = all[0]!;
  assert.equal(a.file, join(dir, '10-a.conf'));
  assert.deepEqual(a.raw, { name: 'a', cniVersion: '1.0.0', plugins: [{ type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', subnet: '10.1.0.0/24' } }] });
});

void test('selects by network name, first file wins; unknown name lists the known ones', async (t) => {
  const dir = confDir(t, { '10-x.conf': { ...bridge('dup'), bridge: 'first' }, '20-y.conf': { ...bridge('dup'), bridge: 'second' } });
  const c = await loadNetworkConfig(dir, 'dup');
  assert.equal(c.plugins[0]!.bridge, 'first');
  await assert.rejects(loadNetworkConfig(dir, 'nope'), (e: unknown) => e instanceof CniNetworkNotFoundError && e.code === 'CNI_NETWORK_NOT_FOUND' && /nope/.test(e.message) && /dup/.test(e.message));
});

void test('a config without cniVersion is a typed error naming the file', async (t) => {
  const { cniVersion: _v, ...noVersion } = bridge('a');
  const dir = confDir(t, { '10-ok.conf': bridge('ok'), '50-bad.conf': noVersion });
  await assert.rejects(loadNetworkConfigs(dir), (e: unknown) => e instanceof CniVersionMissingError && e.message.includes(join(dir, '50-bad.conf')));
});

void test('a config below 0.3.0 is refused naming the file, its version and 0.3.0', async (t) => {
  const dir = confDir(t, { '10-old.conflist': { cniVersion: '0.2.0', name: 'old', plugins: [{ type: 'bridge' }] } });
  await assert.rejects(
    loadNetworkConfigs(dir),
    (e: unknown) => e instanceof CniVersionUnsupportedError && e.message.includes('10-old.conflist') && e.message.includes('0.2.0') && e.message.includes('0.3.0'),
  );
});

void test('broken configs name the file and the field', () => {
  const cases: [string, RegExp][] = [
    ['{', /not valid JSON/],
    ['[]', /must be a JSON object/],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [] }), /plugins: expected a non-empty array/],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [{ type: '../../bin/sh' }] }), /plugins\[0\]\.type/],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'bad name', type: 'bridge' }), /at name/],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'bridge' }], disableCheck: 'yes' }), /disableCheck/],
    [JSON.stringify({ cniVersion: 1, name: 'x', type: 'bridge' }), /cniVersion/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseNetworkConfig(text, '/etc/cni/net.d/99-broken.conf'), (e: unknown) => e instanceof CniConfigError && e.code === 'CNI_CONFIG_INVALID' && e.message.includes('99-broken.conf') && re.test(e.message), text);
  }
});

void test('1.1.0 cniVersions: the highest version netlet speaks is chosen', () => {
  const c = parseNetworkConfig(JSON.stringify({ cniVersions: ['0.4.0', '1.1.0', '2.0.0'], name: 'x', plugins: [{ type: 'bridge' }], disableGC: true }), 'f');
  assert.equal(c.cniVersion, '1.1.0');
  assert.equal(c.disableGC, true);
  assert.throws(() => parseNetworkConfig(JSON.stringify({ cniVersions: ['2.0.0'], name: 'x', plugins: [{ type: 'b' }] }), 'f'), CniVersionUnsupportedError);
});

void test('a missing conf dir has no configs', async () => {
  assert.deepEqual(await loadNetworkConfigs('/nonexistent/netlet/conf'), []);
});

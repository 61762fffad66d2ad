import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniAnnotationError, parseGenieAnnotation, parseMultusAnnotation, selectNetworks } from '../../../src/cni/index.js';

const M = 'k8s.v1.cni.cncf.io/networks';

void test('CNI-Genie annotation: comma list of network names', () => {
  assert.deepEqual(parseGenieAnnotation(' netA, netB ,'), [{ name: 'netA' }, { name: 'netB' }]);
  assert.throws(() => parseGenieAnnotation(' , '), (e: unknown) => e instanceof CniAnnotationError && e.message.includes('cni'));
  assert.throws(() => parseGenieAnnotation('a,b c'), (e: unknown) => e instanceof CniAnnotationError && /"b c"/.test(e.message));
});

void test('Multus text form: name, namespace/name, name@ifname, namespace/name@ifname', () => {
  assert.deepEqual(parseMultusAnnotation('macvlan-conf, kube-system/sriov ,bridge@net5,ns1/ptp@data0'), [
    { name: 'macvlan-conf' },
    { name: 'sriov', namespace: 'kube-system' },
    { name: 'bridge', interface: 'net5' },
    { name: 'ptp', namespace: 'ns1', interface: 'data0' },
  ]);
  assert.deepEqual(parseMultusAnnotation('  '), []);
  for (const bad of ['a/b/c', 'a@b@c', 'Bad_NS/x', 'x@this-name-is-too-long', '@eth1']) {
    assert.throws(() => parseMultusAnnotation(bad), (e: unknown) => e instanceof CniAnnotationError && e.code === 'CNI_ANNOTATION_INVALID' && e.message.includes(M), bad);
  }
});

void test('Multus JSON form with namespace, interface, mac, ips, default-route', () => {
  const v = JSON.stringify([
    { name: 'net-a', namespace: 'default', interface: 'data1', mac: '02:AA:BB:CC:DD:EE', ips: ['10.9.0.5/24'], 'default-route': ['10.9.0.1'] },
    { name: 'net-b', extra: 'ignored' },
  ]);
  assert.deepEqual(parseMultusAnnotation(v), [
    { name: 'net-a', namespace: 'default', interface: 'data1', mac: '02:aa:bb:cc:dd:ee', ips: ['10.9.0.5/24'], defaultRoute: ['10.9.0.1'] },
    { name: 'net-b' },
  ]);
});

void test('invalid Multus JSON names the annotation and the path', () => {
  const cases: [string, RegExp][] = [
    ['[{"name":', /not valid JSON/],
    ['{"name":"x"}', /invalid at \(root\)/],
    ['[{"namespace":"x"}]', /\[0\]\.name/],
    ['[{"name":"a"},{"name":"b","ips":["10.0.0.1"]}]', /\[1\]\.ips\[0\]/],
    ['[{"name":"a","mac":"nope"}]', /\[0\]\.mac/],
    ['[{"name":"a","default-route":["x"]}]', /\[0\]\.default-route\[0\]/],
  ];
  for (const [v, re] of cases) assert.throws(() => parseMultusAnnotation(v), (e: unknown) => e instanceof CniAnnotationError && e.message.includes(M) && re.test(e.message), v);
});

void test('selection: defaults (or Genie) first, Multus after; eth0, eth1, ... unless named', () => {
  assert.deepEqual(selectNetworks({}, ['podnet']).map((s) => [s.name, s.ifName]), [['podnet', 'eth0']]);
  assert.deepEqual(
    selectNetworks({ cni: 'a,b', [M]: 'c@eth0x,d' }, ['ignored']).map((s) => [s.name, s.ifName]),
    [['a', 'eth0'], ['b', 'eth1'], ['c', 'eth0x'], ['d', 'eth2']],
  );
  // An explicitly named eth1 is skipped by the automatic names.
  assert.deepEqual(selectNetworks({ [M]: 'x@eth1,y' }, ['p']).map((s) => s.ifName), ['eth0', 'eth1', 'eth2']);
  assert.throws(() => selectNetworks({ [M]: 'x@eth9,y@eth9' }, ['p']), /eth9 is requested twice/);
  assert.throws(() => selectNetworks({}, []), (e: unknown) => e instanceof CniAnnotationError && /no network selected/.test(e.message));
});

// Pod netns shapes that real CNI setups leave, for restore tests: several networks each
// with a default route, routes in other tables with policy rules, same-destination routes
// in a given order across interfaces, metrics, dual stack. Made with `ip` (as a plugin
// chain would), or by running the real Debian plugins.
import { join } from 'node:path';
import { addNetworkList } from '../../src/cni/list-ops.js';
import { toConfigList } from '../../src/cni/config.js';
import { vethPair, type Netns } from './netns.js';

/**
 * Two veths (eth0 10.93.0.5, eth1 10.94.0.5, each with an IPv6 address) whose routes
 * compete: two IPv4 and two IPv6 default routes, a destination reached three ways in an
 * order that interleaves the interfaces, one in the other order, a metric, a route in
 * table 200 with a rule, a blackhole no interface owns. Returns one CNI result per veth.
 */
export function twoNetworkShape(pod: Netns, peer: Netns, peerName: (s: string) => string): unknown[] {
  const nets = [
    { ifName: 'eth0', v4: '10.93.0', v6: '2001:db8:93::' },
    { ifName: 'eth1', v4: '10.94.0', v6: '2001:db8:94::' },
  ];
  const macs = nets.map(({ ifName, v4, v6 }, i) => {
    vethPair(pod, ifName, peer, peerName(`s${i}`));
    pod.ip('addr', 'add', `${v4}.5/24`, 'dev', ifName);
    pod.ip('addr', 'add', `${v6}5/64`, 'dev', ifName, 'nodad');
    return pod.json<{ address: string }>('link', 'show', ifName)[0]!.address;
  });
  const r = (...a: string[]) => pod.ip('route', ...a);
  const r6 = (...a: string[]) => pod.ip('-6', 'route', ...a);
  r('add', 'default', 'via', '10.93.0.1', 'dev', 'eth0');
  r('append', 'default', 'via', '10.94.0.1', 'dev', 'eth1');
  r('add', '198.51.100.0/24', 'via', '10.93.0.1', 'dev', 'eth0');
  r('append', '198.51.100.0/24', 'via', '10.94.0.1', 'dev', 'eth1');
  r('append', '198.51.100.0/24', 'via', '10.93.0.2', 'dev', 'eth0');
  r('add', '192.0.2.0/24', 'via', '10.94.0.1', 'dev', 'eth1');
  r('append', '192.0.2.0/24', 'via', '10.93.0.1', 'dev', 'eth0');
  r('add', '10.77.0.0/16', 'via', '10.93.0.1', 'dev', 'eth0', 'metric', '50');
  r('add', '10.88.0.0/16', 'via', '10.94.0.1', 'dev', 'eth1', 'table', '200');
  r('add', '10.94.0.0/24', 'dev', 'eth1', 'table', '200', 'proto', 'static', 'src', '10.94.0.5');
  r('add', 'blackhole', '10.66.0.0/16');
  pod.ip('rule', 'add', 'from', '10.94.0.5', 'lookup', '200', 'priority', '100');
  pod.ip('-6', 'rule', 'add', 'from', '2001:db8:94::5', 'lookup', '200', 'priority', '100');
  r6('add', 'default', 'via', '2001:db8:93::1', 'dev', 'eth0');
  r6('append', 'default', 'via', '2001:db8:94::1', 'dev', 'eth1');
  r6('add', '2001:db8:ff::/48', 'via', '2001:db8:94::1', 'dev', 'eth1', 'table', '200');
  return nets.map(({ ifName, v4, v6 }, i) => ({
    cniVersion: '1.0.0',
    interfaces: [{ name: ifName, mac: macs[i], sandbox: pod.path }],
    ips: [
      { address: `${v4}.5/24`, gateway: `${v4}.1`, interface: 0 },
      { address: `${v6}5/64`, gateway: `${v6}1`, interface: 0 },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: `${v4}.1` }, { dst: '::/0', gw: `${v6}1` }],
  }));
}

export interface PluginRun {
  /** The node netns where plugins run (`ip netns exec`), and a dir for IPAM and cache. */
  node: Netns;
  dir: string;
  bridge: string;
}

/** Runs a real plugin chain for one interface and returns its raw result (as netlet would be given it). */
export async function realPluginResult(run: PluginRun, pod: Netns, ifName: string, plugins: Record<string, unknown>[], name: string): Promise<Record<string, unknown>> {
  const list = toConfigList({ cniVersion: '1.0.0', name, plugins }, name);
  const added = await addNetworkList(list, { containerId: `c-${name}`, netns: pod.path, ifName }, {
    wrapper: ['ip', 'netns', 'exec', run.node.name],
    cacheDir: join(run.dir, 'cache'),
    timeoutMs: 15_000,
  });
  return added.result;
}

/** The bridge plugin with host-local IPAM over the given ranges (IPv4, IPv6 or both). */
export const bridgePlugin = (run: PluginRun, ranges: { subnet: string; gateway: string }[], routes: { dst: string }[]): Record<string, unknown> => ({
  type: 'bridge',
  bridge: run.bridge,
  isGateway: true,
  ipMasq: false,
  ipam: { type: 'host-local', dataDir: join(run.dir, 'ipam'), ranges: ranges.map((r) => [r]), routes },
});

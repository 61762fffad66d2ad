// A rig for runtime tests with real CNI: a throwaway node netns where the bridge plugin
// runs (cni.wrapper), two networks (neta: 10.91.0.0/24, MTU 1450; netb: 10.92.0.0/24)
// with host-local IPAM, and a temp dir holding conf, IPAM data, CNI cache, state and run
// dirs. Pod netns are made per test. Everything carries the Topology tag and is removed
// by destroy().
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topology, sh, type Netns } from './netns.js';

export interface RigPaths {
  dir: string;
  conf: string;
  ipam: string;
  cache: string;
  state: string;
  run: string;
  nodeNs: string;
}

export class RuntimeRig {
  readonly topo = new Topology();
  readonly node: Netns;
  readonly paths: RigPaths;

  constructor() {
    this.node = this.topo.ns('node');
    const dir = mkdtempSync(join(tmpdir(), `netlet-${this.topo.tag}-`));
    this.paths = { dir, conf: join(dir, 'conf'), ipam: join(dir, 'ipam'), cache: join(dir, 'cache'), state: join(dir, 'state'), run: join(dir, 'run'), nodeNs: this.node.name };
    mkdirSync(this.paths.conf);
    writeFileSync(join(this.paths.conf, '10-a.conflist'), JSON.stringify({
      cniVersion: '1.0.0', name: 'neta',
      plugins: [{ type: 'bridge', bridge: 'cnia', isGateway: true, mtu: 1450, ipam: { type: 'host-local', dataDir: this.paths.ipam, subnet: '10.91.0.0/24', routes: [{ dst: '0.0.0.0/0' }, { dst: '10.200.0.0/16' }] } }],
    }));
    writeFileSync(join(this.paths.conf, '20-b.conflist'), JSON.stringify({
      cniVersion: '0.4.0', name: 'netb',
      plugins: [{ type: 'bridge', bridge: 'cnib', isGateway: true, ipam: { type: 'host-local', dataDir: this.paths.ipam, subnet: '10.92.0.0/24', routes: [{ dst: '0.0.0.0/0' }] } }],
    }));
  }

  /** Runtime options for this rig (CNI inside the node netns). */
  options(extra: Record<string, unknown> = {}) {
    return {
      stateDir: this.paths.state,
      runDir: this.paths.run,
      cni: { confDir: this.paths.conf, cacheDir: this.paths.cache, wrapper: ['ip', 'netns', 'exec', this.node.name], defaultNetworks: ['neta'] },
      monitorIntervalMs: 0,
      ...extra,
    };
  }

  pod(suffix: string): Netns {
    return this.topo.ns(suffix);
  }

  /** host-local's allocations: file name → content (owner). */
  allocations(): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string): void => {
      let names: string[];
      try { names = readdirSync(d); } catch { return; }
      for (const n of names) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (/^\d+\.\d+\.\d+\.\d+$/.test(n)) out[p.slice(this.paths.ipam.length + 1)] = readFileSync(p, 'utf8').trim();
      }
    };
    walk(this.paths.ipam);
    return out;
  }

  /** Entries of the CNI result cache. */
  cacheEntries(): string[] {
    try { return readdirSync(join(this.paths.cache, 'results')); } catch { return []; }
  }

  records(): string[] {
    try { return readdirSync(this.paths.state); } catch { return []; }
  }

  /** Links netlet makes (nb-*, nt-*) in a netns. */
  static netletLinks(ns: Netns): string[] {
    return ns.links().filter((l) => /^n[bt]-/.test(l));
  }

  static pids(ns: Netns): string[] {
    return sh('ip', ['netns', 'pids', ns.name]).split('\n').filter(Boolean);
  }

  destroy(): void {
    this.topo.destroy();
    rmSync(this.paths.dir, { recursive: true, force: true });
  }
}

// Throwaway network namespaces for tests: unique names per test run, created and
// deleted by the test itself. Never touches the root namespace's interfaces.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';

/** A prefix unique to this test process: every netns and link name the test makes starts with it. */
export const runTag = (): string => `nt${randomBytes(3).toString('hex')}`;

export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** `ip [-n ns] ...` */
export const ip = (ns: string | undefined, ...args: string[]): string =>
  sh('ip', ns ? ['-n', ns, ...args] : args);

/** `ip -j [-n ns] ...` parsed. */
export function ipJson<T = any>(ns: string | undefined, ...args: string[]): T[] {
  const out = sh('ip', ns ? ['-j', '-n', ns, ...args] : ['-j', ...args]).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

export const netnsPath = (name: string): string => `/run/netns/${name}`;

export class Netns {
  readonly path: string;
  constructor(readonly name: string) {
    this.path = netnsPath(name);
  }
  static create(name: string): Netns {
    sh('ip', ['netns', 'add', name]);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return new Netns(name);
  }
  ip(...args: string[]): string {
    return ip(this.name, ...args);
  }
  json<T = any>(...args: string[]): T[] {
    return ipJson<T>(this.name, ...args);
  }
  exec(cmd: string, args: string[], input?: string): string {
    return sh('ip', ['netns', 'exec', this.name, cmd, ...args], input);
  }
  links(): string[] {
    return this.json<{ ifname: string }>('link').map((l) => l.ifname);
  }
  delete(): void {
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
  }
}

/** Creates a veth pair with one end in `a` and the other in `b`, both up. */
export function vethPair(a: Netns, aName: string, b: Netns, bName: string, opts: { mtu?: number } = {}): void {
  sh('ip', ['-n', a.name, 'link', 'add', aName, 'type', 'veth', 'peer', 'name', bName, 'netns', b.name]);
  if (opts.mtu) {
    a.ip('link', 'set', aName, 'mtu', String(opts.mtu));
    b.ip('link', 'set', bName, 'mtu', String(opts.mtu));
  }
  a.ip('link', 'set', aName, 'up');
  b.ip('link', 'set', bName, 'up');
}

/** Waits until a link's operstate says UP (it takes 0.35-1 s after both ends come up). */
export async function waitUp(ns: Netns, link: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [l] = ns.json<{ operstate: string }>('link', 'show', link);
    if (l?.operstate === 'UP') return;
    if (Date.now() > deadline) throw new Error(`${ns.name}/${link} not UP after ${timeoutMs} ms (operstate ${l?.operstate})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A set of namespaces made by one test, deleted together. */
export class Topology {
  readonly tag = runTag();
  private readonly made: Netns[] = [];
  ns(suffix: string): Netns {
    const n = Netns.create(`${this.tag}-${suffix}`);
    this.made.push(n);
    return n;
  }
  /** A name unique to this topology, at most 15 characters. */
  name(suffix: string): string {
    const n = `${this.tag}${suffix}`;
    if (n.length > 15) throw new Error(`link name too long: ${n}`);
    return n;
  }
  destroy(): void {
    for (const n of this.made.splice(0).reverse()) n.delete();
  }
}

/** Netns names that carry `tag`: used to prove a test left none behind. */
export const leftoverNetns = (tag: string): string[] =>
  ipJson<{ name: string }>(undefined, 'netns', 'list').map((n) => n.name).filter((n) => n.includes(tag));

/** Open fds of this process (a leak check compares two snapshots). */
export const openFds = (): string[] =>
  readdirSync('/proc/self/fd').map((fd) => {
    try {
      return `${fd}:${readlinkSync(`/proc/self/fd/${fd}`)}`;
    } catch {
      return `${fd}:?`;
    }
  });

export const projectRoot = new URL('../../../', import.meta.url).pathname;

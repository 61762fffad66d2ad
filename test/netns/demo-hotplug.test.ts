// `netlet demo --hotplug` end to end, as a user runs it: the CLI boots the demo VM, hot-plugs
// a second network into it and removes it again; the output shows every step with its
// time, the new NIC's lease and table, and both netns comparisons clean; nothing is left.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { test } from 'node:test';

const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // SIGINT first: the demo cleans up on it.
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

void test('netlet demo --hotplug: attach, QMP hot-plug, the guest\'s lease, QMP unplug, detach; the pod netns as before; nothing left', async (t) => {
  const { code, out } = await run(['demo', '--hotplug'], 150_000);
  for (const l of out.split('\n').filter((x) => /^\[\d+\/13\]|^ {6}\d+ ms/.test(x))) t.diagnostic(l);
  assert.equal(code, 0, out);
  for (let n = 1; n <= 13; n++) assert.match(out, new RegExp(`^\\[${n}/13\\] `, 'm'), `step ${n}`);
  assert.match(out, /attachInterface eth1 on demo-net2/);
  assert.match(out, /^ {6}\d+ ms: eth1 10\.250\.2\.\d+\/24 → nt-eth1 on nb-eth1$/m);
  const lease = /^ {6}\d+ ms after device_add: eth1 leased (10\.250\.2\.\d+\/24)$/m.exec(out);
  assert.ok(lease, 'the guest leased demo-net2\'s address');
  assert.match(out, new RegExp(`eth1 address +${lease[1]!.replace(/\./g, '\\.')} +eth1 ${lease[1]!.replace(/\./g, '\\.')}`), 'the table: CNI and the VM agree');
  assert.match(out, /pod netns as before the attach: yes/);
  assert.match(out, /pod netns restored exactly as CNI left it: yes/);
  assert.match(out, /demo finished in/);

  const tag = /creating throwaway netns (nd[0-9a-f]{4})-node/.exec(out)?.[1];
  assert.ok(tag);
  assert.deepEqual(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(tag)), [], 'no demo netns left');
  assert.deepEqual(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(tag)), [], 'no demo link in the host netns');
});

void test('netlet demo --hotplug --ipv6 is refused with a reason', async () => {
  const { code, out } = await run(['demo', '--hotplug', '--ipv6'], 10_000);
  assert.equal(code, 2);
  assert.match(out, /--hotplug is IPv4 only/);
});

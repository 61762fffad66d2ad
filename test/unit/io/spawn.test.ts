// spawnNoFork (src/io/spawn.ts): a program started without fork(), used for CNI plugins.
// What a plugin run relies on (stdin, stdout, stderr, exit status, signals, its own process
// group, typed start errors, nothing of ours inherited), and the reason it exists: after a
// fork every page of this process is copy-on-write, and writing it again faults.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { native } from '../../../src/io/native.js';
import { spawnNoFork } from '../../../src/io/spawn.js';
import { invokePlugin, type PluginSpawn } from '../../../src/cni/exec.js';

interface Run { code: number | null; signal: string | null; out: string; err: string; pid: number }

const forkSpawn: PluginSpawn = (cmd, args, o) => spawn(cmd, args, { env: o.env, detached: o.detached, stdio: 'pipe' });

function run(cmd: string, args: string[], input = '', f: PluginSpawn = spawnNoFork): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = f(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, detached: true });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.stdin.on('error', () => undefined);
    c.on('error', reject);
    c.on('close', (code, signal) => resolve({ code, signal, out, err, pid: c.pid! }));
    c.stdin.end(input);
  });
}

void test('stdin, stdout, stderr and the exit status; a kill is reported as its signal; big outputs whole', async () => {
  const cat = await run('cat', [], 'hello');
  assert.deepEqual([cat.code, cat.signal, cat.out, cat.err], [0, null, 'hello', '']);
  const sh = await run('sh', ['-c', 'echo oops >&2; exit 3']);
  assert.deepEqual([sh.code, sh.signal, sh.out, sh.err], [3, null, '', 'oops\n']);
  const killed = await run('sh', ['-c', 'kill -9 $$']);
  assert.deepEqual([killed.code, killed.signal], [null, 'SIGKILL']);
  assert.equal((await run('head', ['-c', '300000', '/dev/zero'])).out.length, 300000);
  // A program that exits without reading its stdin: the write fails quietly.
  assert.equal((await run('true', [], 'x'.repeat(1 << 20))).code, 0);
});

void test('the child has its own process group, only fds 0-2 of ours, and default signal dispositions', async () => {
  const r = await run('sh', ['-c', 'echo "$(ps -o pgid= -p $$)"; ls /proc/$$/fd; grep SigIgn /proc/$$/status']);
  const [pgid, ...rest] = r.out.trim().split('\n');
  assert.equal(Number(pgid), r.pid, 'pgid is its own pid');
  const fds = rest.filter((l) => /^\d+$/.test(l)).map(Number);
  assert.deepEqual(fds, [0, 1, 2], `fds: ${fds.join(' ')}`);
  // Node ignores SIGPIPE; the plugin must not inherit that: no standard signal (1-31) ignored.
  // (glibc's posix_spawn leaves its own internal signals, 32 and 33, ignored; libc resets them.)
  const ignored = BigInt(`0x${rest.find((l) => l.startsWith('SigIgn'))!.split(/\s+/)[1]!}`);
  assert.equal(ignored & 0x7fffffffn, 0n, `SigIgn ${ignored.toString(16)}`);
});

void test('waitExit has closed the pidfd by the time it resolves', async () => {
  for (let i = 0; i < 5; i++) {
    const p = native.spawnPiped('/bin/true', ['true'], [], false);
    for (const fd of [p.stdin, p.stdout, p.stderr]) closeSync(fd);
    assert.deepEqual(await native.waitExit(p.pidfd), { code: 0, signal: null });
    assert.throws(() => fstatSync(p.pidfd), { code: 'EBADF' }, `pidfd ${p.pidfd} still open`);
  }
});

void test('a program that cannot start: a typed error at once; through invokePlugin a CNI error naming it', async () => {
  assert.throws(() => spawnNoFork('/nonexistent/plugin', [], { env: {}, detached: false }), (e: { code?: string; syscall?: string }) => e.code === 'ENOENT' && e.syscall === 'posix_spawnp');
  // The plugin is found, the command in front of it is not.
  await assert.rejects(
    invokePlugin({ type: 'true', command: 'VERSION', config: {}, binDirs: ['/usr/bin', '/bin'], spawn: spawnNoFork, wrapper: ['/nonexistent/wrapper'] }),
    (e: { name?: string; message?: string }) => e.name === 'CniPluginError' && /cannot run .*true.*ENOENT|cannot run .*true.*No such file/.test(e.message ?? ''),
  );
});

/** Minor page faults of this process so far (/proc/self/stat field 10). */
const minflt = (): number => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[7]);

void test('no copy-on-write after it: writing 64 MiB again takes no page faults (after a fork: one a page)', async () => {
  const buf = Buffer.alloc(64 << 20, 1);
  const touch = (): number => {
    const f0 = minflt();
    for (let i = 0; i < buf.length; i += 4096) buf[i]! += 1;
    return minflt() - f0;
  };
  touch();
  await run('true', [], '', spawnNoFork);
  const noFork = touch();
  await run('true', [], '', forkSpawn);
  const forked = touch();
  // The contrast shows the measure works: node's spawn forks, and each page faults once.
  assert.ok(forked >= 16000, `after a fork: ${forked} faults for 16384 pages`);
  assert.ok(noFork < 500, `after spawnNoFork: ${noFork} faults`);
});

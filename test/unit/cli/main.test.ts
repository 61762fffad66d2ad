// The CLI as a child process, without a daemon: help, usage errors, exit codes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../netns/debug-rig.js';

void test('help and usage', async () => {
  const h = await runCli(['--help']);
  assert.equal(h.code, 0);
  for (const c of ['daemon', 'status', 'inspect', 'events', 'graph', 'cloud-init', 'metrics', 'attach', 'detach', 'demo']) assert.match(h.stdout, new RegExp(`^ {2}${c} `, 'm'));
  assert.match(h.stdout, /exit codes: 0 ok, 1 error, 2 usage, 3 daemon not reachable, 4 not found/);
  assert.equal((await runCli(['help', 'status'])).stdout.split('\n')[0], 'usage: netlet status [--socket PATH] [--json]');
  const none = await runCli([]);
  assert.equal(none.code, 2);
  const unknown = await runCli(['frob']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frob'/);
  assert.equal((await runCli(['daemon'])).code, 2, 'daemon without --config');
  assert.equal((await runCli(['daemon', '--config', 'x', '--log', 'xml'])).code, 2);
});

void test('a socket that is not there: exit 3 naming the path and its source', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlet-cli-'));
  try {
    const p = join(dir, 'debug.sock');
    const r = await runCli(['metrics'], { NETLET_SOCKET: p });
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`cannot reach the netlet daemon at ${p} \\(from NETLET_SOCKET\\): no socket file there\\n`));
    assert.match(r.stderr, /No `netlet daemon` process is running|A netlet daemon is running: pid \d+/);
    assert.equal(r.stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a daemon config that cannot be read: exit 1 with the reason', async () => {
  const r = await runCli(['daemon', '--config', '/nonexistent/netlet.json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read the config \/nonexistent\/netlet\.json: ENOENT/);
});

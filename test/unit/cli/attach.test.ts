// netlet attach/detach as a child process against a stand-in control socket (an HTTP
// server on a unix socket answering as control.ts does): the request sent, the output,
// and the exit codes of usage errors, 404, refusals and an unreachable socket.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../netns/debug-rig.js';

interface Seen { method: string; url: string; body: unknown }

async function fakeControl(dir: string): Promise<{ path: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      seen.push({ method: req.method!, url: req.url!, body: text ? JSON.parse(text) : undefined });
      const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url!.startsWith('/v1/pods/nope/')) return reply(404, { error: 'no pod nope: set it up first', code: 'POD_NOT_FOUND' });
      if (req.method === 'DELETE') return reply(200, { podId: 'p1', ifName: 'eth1', detached: true });
      const b = JSON.parse(text) as { ifName: string };
      if (b.ifName === 'eth0') return reply(409, { error: 'pod p1: the pod netns already has a link named eth0; pick another ifName', code: 'IFNAME_IN_USE' });
      reply(200, { kind: 'tap', name: b.ifName, tapName: `nt-${b.ifName}`, bridgeName: `nb-${b.ifName}`, mac: '02:00:00:00:00:11', mtu: 1450, queues: 1, ips: [{ address: '10.92.0.5/24' }] });
    });
  });
  const path = join(dir, 'control.sock');
  await new Promise<void>((r) => server.listen(path, r));
  return { path, seen, close: () => new Promise((r) => server.close(() => r())) };
}

void test('attach and detach through the control socket: request, output, exit codes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlet-cli-'));
  const ctl = await fakeControl(dir);
  try {
    const env = { NETLET_CONTROL_SOCKET: ctl.path };
    const ok = await runCli(['attach', 'p1', 'eth1', '--network', 'netb'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'eth1 attached to p1: TAP nt-eth1 on bridge nb-eth1, 1 queue(s), mac 02:00:00:00:00:11, 10.92.0.5/24\n');
    assert.deepEqual(ctl.seen.at(-1), { method: 'POST', url: '/v1/pods/p1/interfaces', body: { ifName: 'eth1', network: 'netb' } });

    const result = join(dir, 'result.json');
    writeFileSync(result, JSON.stringify({ cniVersion: '1.0.0', interfaces: [{ name: 'net1' }] }));
    const json = await runCli(['attach', 'p1', 'net1', '--result', result, '--json', '--control', ctl.path]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).name, 'net1');
    assert.deepEqual(ctl.seen.at(-1)!.body, { ifName: 'net1', cniResult: { cniVersion: '1.0.0', interfaces: [{ name: 'net1' }] } });

    const det = await runCli(['detach', 'p1', 'eth1'], env);
    assert.deepEqual([det.code, det.stdout], [0, 'eth1 detached from p1\n']);
    assert.deepEqual(ctl.seen.at(-1), { method: 'DELETE', url: '/v1/pods/p1/interfaces/eth1', body: undefined });

    const missing = await runCli(['attach', 'nope', 'eth1', '--network', 'netb'], env);
    assert.deepEqual([missing.code, missing.stderr], [4, 'netlet: no pod nope: set it up first\n']);
    assert.equal((await runCli(['detach', 'nope', 'eth1'], env)).code, 4);
    const inUse = await runCli(['attach', 'p1', 'eth0', '--network', 'netb'], env);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /already has a link named eth0; pick another ifName/);
    const n = ctl.seen.length;

    const noNet = await runCli(['attach', 'p1', 'eth1'], env);
    assert.equal(noNet.code, 2);
    assert.match(noNet.stderr, /^give --network NAME or --result FILE\n\nusage: netlet attach/);
    assert.equal((await runCli(['detach', 'p1'], env)).code, 2);
    assert.equal((await runCli(['attach', 'p1', 'eth1', 'x', '--network', 'n'], env)).code, 2);
    const badFile = await runCli(['attach', 'p1', 'eth1', '--result', join(dir, 'none.json')], env);
    assert.equal(badFile.code, 1);
    assert.match(badFile.stderr, /cannot read the CNI result .*none\.json: ENOENT/);
    assert.equal(ctl.seen.length, n, 'nothing sent for a bad command line');

    const gone = join(dir, 'gone.sock');
    const away = await runCli(['detach', 'p1', 'eth1', '--control', gone]);
    assert.equal(away.code, 3);
    assert.match(away.stderr, new RegExp(`cannot reach the netlet daemon at ${gone} \\(from --control\\): no socket file there`));
  } finally {
    await ctl.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

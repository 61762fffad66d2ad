// libnftables' select() returns EINTR when a signal lands (SIGCHLD of a CNI plugin, a
// profiler's SIGPROF): every nft script netlet runs is idempotent and is run again.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { native } from '../../../src/io/native.js';
import { applyIsolation, removeIsolation } from '../../../src/io/nft.js';

const real = { nftRun: native.nftRun, nftRunAsync: native.nftRunAsync };
afterEach(() => Object.assign(native, real));
const EINTR = { ok: false, output: '', error: 'netlink: Error: Could not process rule: Interrupted system call\n' };
const OK = { ok: true, output: '', error: '' };
const rule = { table: 't', bridge: 'nb-eth0', bridgeMac: '02:00:00:00:00:01', bridgeAddress: '169.254.253.1', tap: 'nt-eth0', veth: 'eth0', vmMac: '02:00:00:00:00:02', vmAddresses: ['10.0.0.2'] };

void test('an interrupted apply (off the main thread) is run again; five interruptions in a row fail with the cause', async () => {
  let calls = 0;
  native.nftRunAsync = async () => (++calls < 3 ? EINTR : OK);
  await applyIsolation(0, rule);
  assert.equal(calls, 3);
  calls = 0;
  native.nftRunAsync = async () => (++calls, EINTR);
  await assert.rejects(applyIsolation(0, rule), (e: { code?: string; message: string }) => e.code === 'NFT_FAILED' && /Interrupted system call/.test(e.message));
  assert.equal(calls, 5);
});

void test('an interrupted delete (off the main thread) is run again; a table already gone is fine', async () => {
  const seen: string[] = [];
  native.nftRunAsync = async (_fd, text) => (seen.push(text), seen.length === 1 ? EINTR : { ok: false, output: '', error: 'Error: No such file or directory' });
  await removeIsolation(0, 't');
  assert.deepEqual(seen, ['delete table bridge t', 'delete table bridge t']);
});

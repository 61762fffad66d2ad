// The pod record journal: the last complete line is the record; a torn line from a crash
// mid-append is ignored; it compacts; records of the older format still read.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StateStore } from '../../../src/io/state-store.js';

const withStore = (fn: (s: StateStore, dir: string) => void): void => {
  const dir = mkdtempSync(join(tmpdir(), 'netlet-store-'));
  try {
    fn(new StateStore(dir), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

void test('the last write is the record; a new store (a restart) reads it and appends after it', () => {
  withStore((s, dir) => {
    for (let i = 1; i <= 5; i++) s.write('pod.a', { n: i }, { sync: i === 1 });
    assert.deepEqual(s.read('pod.a'), { n: 5 });
    const again = new StateStore(dir);
    assert.deepEqual(again.all(), [{ n: 5 }]);
    again.write('pod.a', { n: 6 }, { sync: false });
    assert.deepEqual(new StateStore(dir).read('pod.a'), { n: 6 });
    assert.equal(s.read('other'), undefined);
  });
});

void test('a torn last line (a crash mid-append) is ignored: the line before it is the record', () => {
  withStore((s, dir) => {
    s.write('p', { phase: 'settingUp', done: ['capture'] });
    s.write('p', { phase: 'settingUp', done: ['capture', 'strip'] }, { sync: false });
    const [file] = readdirSync(dir);
    appendFileSync(join(dir, file!), '{"phase":"settingUp","done":["capture","strip","pl');
    assert.deepEqual(new StateStore(dir).read('p'), { phase: 'settingUp', done: ['capture', 'strip'] });
    writeFileSync(join(dir, file!), '{"torn');
    assert.throws(() => new StateStore(dir).read('p'), (e: { code?: string }) => e.code === 'STATE_CORRUPT');
    assert.throws(() => new StateStore(dir).all(), (e: { code?: string }) => e.code === 'STATE_CORRUPT');
  });
});

void test('the journal is rewritten down to its last record every 64 lines', () => {
  withStore((s, dir) => {
    for (let i = 1; i <= 200; i++) s.write('p', { n: i }, { sync: false });
    const lines = readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8').trim().split('\n');
    assert.ok(lines.length <= 64, `${lines.length} lines`);
    assert.deepEqual(JSON.parse(lines.at(-1)!), { n: 200 });
    assert.deepEqual(s.read('p'), { n: 200 });
  });
});

void test('a record of the older format (one pretty-printed object) reads; remove and leftover temp files', () => {
  withStore((s, dir) => {
    writeFileSync(join(dir, 'pod-old.json'), JSON.stringify({ podId: 'old', phase: 'ready' }, null, 1));
    writeFileSync(join(dir, 'pod-x.json.tmp-123'), '{');
    assert.deepEqual(s.all(), [{ podId: 'old', phase: 'ready' }]);
    assert.deepEqual(readdirSync(dir), ['pod-old.json'], 'the temp file of a crash is gone');
    s.remove('old');
    assert.deepEqual(s.all(), []);
  });
});

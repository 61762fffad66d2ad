// Proves a test left nothing behind: no netns with its tag, no new fds.
import assert from 'node:assert/strict';
import { leftoverNetns, openFds } from './netns.js';

export function fdSnapshot(): Set<string> {
  return new Set(openFds());
}

/** Fails when fds opened after `before` are still open (ignoring the runner's own). */
export function assertNoFdLeak(before: Set<string>, what: string): void {
  const now = openFds().filter((f) => !before.has(f) && !/\/proc\/\d+\/fd|anon_inode:\[eventpoll\]|anon_inode:\[eventfd\]|pipe:/.test(f));
  assert.deepEqual(now, [], `${what} leaked fds: ${now.join(', ')}`);
}

export function assertNoNetnsLeft(tag: string): void {
  assert.deepEqual(leftoverNetns(tag), [], `netns with tag ${tag} left behind`);
}

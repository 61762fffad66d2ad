// SRIOV_IO_METHODS lists every SriovIo member: the runtime builds the host's SR-IOV io
// lazily from that list, so a member missing there would be an undefined effect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SRIOV_IO_METHODS } from '../../../src/machines/sriov-contract.js';
import { makeWorld } from './harness.js';

void test('SRIOV_IO_METHODS names exactly the members of SriovIo (as the real io implements them)', () => {
  const w = makeWorld();
  assert.deepEqual([...SRIOV_IO_METHODS].sort(), Object.keys(w.io).sort());
});

// An interface's state as status and events show it: every region of a parallel state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor } from 'xstate';
import { stateName } from '../../../src/machines/common.js';
import { vethInterfaceMachine } from '../../../src/machines/veth-interface.js';

void test('stateName: nested states dotted, parallel regions joined by +, none pending', () => {
  assert.equal(stateName('ready'), 'ready');
  assert.equal(stateName({ plumbing: 'running' }), 'plumbing.running');
  assert.equal(stateName({ tearingDown: { unwiring: { service: 'unisolating', links: 'unplumbing' } } }), 'tearingDown.unwiring.service.unisolating+links.unplumbing');
  assert.equal(stateName(undefined), 'pending');
});

void test('stateName of the veth machine tearing down names both of unwiring\'s regions', () => {
  const settings = { bridge: 'nb-eth0', tap: 'nt-eth0', table: 'netlet_eth0', bridgeAddress: '169.254.253.1', bridgeMac: '02:aa:00:00:00:01', vmMac: '0a:58:0a:3c:00:05', queues: 1 };
  const record = { ifName: 'eth0', mac: '0a:58:0a:3c:00:05', mtu: 1500, up: true, addresses: [], loUp: true, routes: [] };
  const a = createActor(vethInterfaceMachine, { input: { ifName: 'eth0', settings, resume: { done: ['capturing', 'stripping', 'plumbing', 'isolating', 'serving'], record } } });
  a.start();
  a.send({ type: 'TEARDOWN' });
  assert.equal(stateName(a.getSnapshot().value), 'tearingDown.unwiring.service.stoppingDhcp+links.unplumbing');
  a.stop();
});

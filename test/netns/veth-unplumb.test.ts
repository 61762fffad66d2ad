// Deleting a pod's links: every interface's bridge and TAP in one request when they share
// the pod's link group (the whole pod torn down), one interface's alone through its own
// group (detach), and a foreign link put in the pod's group never deleted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podLinkGroup } from '../../src/model/names.js';
import { unplumbPod } from '../../src/io/veth.js';
import type { VethInput } from '../../src/machines/veth-contract.js';
import { assertSameNetns, deletions, makePod, netnsSnapshot, startVeth, teardownVeth, type PodRig, type VethActor } from './veth-rig.js';

/** Both interfaces set up as the runtime makes them: in the pod's link group. */
async function setUpBoth(r: PodRig): Promise<{ inputs: VethInput[]; actors: VethActor[] }> {
  const inputs = [0, 1].map((i) => ({ ...r.input(i), settings: { ...r.settings(i), linkGroup: podLinkGroup(r.podId) } }));
  const actors: VethActor[] = [];
  for (const input of inputs) {
    const { actor, snap } = await startVeth(r.io, input);
    assert.ok(snap.matches('ready'), JSON.stringify(snap.value));
    actors.push(actor);
  }
  return { inputs, actors };
}

const ourLinks = (r: PodRig): string[] => r.pod.links().filter((l) => /^n[bt]-eth\d$/.test(l)).sort();
const groupOf = (r: PodRig, link: string): number => (r.pod.json('-d', 'link', 'show', link)[0] as { group: string | number }).group as number;

void test("a whole pod's bridges and TAPs go in one request; the veths stay; teardown then restores exactly", async (t) => {
  const r = await makePod(t, { count: 2 });
  const before = await netnsSnapshot(r.pod);
  const { inputs, actors } = await setUpBoth(r);
  assert.deepEqual(ourLinks(r), ['nb-eth0', 'nb-eth1', 'nt-eth0', 'nt-eth1']);
  const group = podLinkGroup(r.podId);
  // `ip -j` names a group it knows by name, else gives the number.
  for (const l of ourLinks(r)) assert.equal(Number(groupOf(r, l)), group, `${l} in the pod's group`);
  const { result, calls } = await deletions(() => unplumbPod(r.rt, inputs.map((i) => i.settings)));
  assert.equal(result, true);
  assert.deepEqual(calls, ['deleteGroup'], 'one RTM_DELLINK for four links');
  assert.deepEqual(ourLinks(r), []);
  assert.ok(r.pod.links().includes('eth0') && r.pod.links().includes('eth1'), 'the veths stay');
  // Each interface's own teardown finds its links gone and restores its veth.
  const again = await deletions(async () => {
    for (const a of actors) assert.equal((await teardownVeth(a)).status, 'done');
  });
  assert.deepEqual(again.calls, [], 'nothing left to delete');
  await assertSameNetns(r.pod, before, 'after the pod-wide deletion and both teardowns');
});

void test("an interface undone alone takes only its own links (through its own group); a foreign link in the pod's group is never deleted", async (t) => {
  const r = await makePod(t, { count: 2 });
  const before = await netnsSnapshot(r.pod);
  const { inputs, actors } = await setUpBoth(r);
  const group = podLinkGroup(r.podId);
  r.pod.ip('link', 'add', 'fx0', 'type', 'bridge');
  r.pod.ip('link', 'set', 'fx0', 'group', String(group));
  // The group holds more than the pod's links: no pod-wide deletion.
  const pod = await deletions(() => unplumbPod(r.rt, inputs.map((i) => i.settings)));
  assert.equal(pod.result, false);
  assert.deepEqual(pod.calls, []);
  assert.deepEqual(ourLinks(r), ['nb-eth0', 'nb-eth1', 'nt-eth0', 'nt-eth1']);
  // eth1 alone (as a detach): its two links in one request, eth0's and fx0 untouched.
  const one = await deletions(async () => assert.equal((await teardownVeth(actors[1]!)).status, 'done'));
  assert.deepEqual(one.calls, ['deleteGroup']);
  assert.deepEqual(ourLinks(r), ['nb-eth0', 'nt-eth0']);
  assert.ok(r.pod.links().includes('fx0'));
  assert.ok(r.pool.isServing(`${r.podId}/eth0`), 'eth0 still serves');
  // eth0: its group holds fx0 too; its links go, fx0 stays.
  const other = await deletions(async () => assert.equal((await teardownVeth(actors[0]!)).status, 'done'));
  assert.deepEqual(other.calls, ['deleteGroup']);
  assert.deepEqual(ourLinks(r), []);
  assert.equal(Number(groupOf(r, 'fx0')), group, 'the foreign link is where it was');
  r.pod.ip('link', 'del', 'fx0');
  await assertSameNetns(r.pod, before, 'after both interfaces undone alone');
});

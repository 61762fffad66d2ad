// Child process for the crash test: creates a runtime on a given state dir and sets up
// (and, in mode "teardown", then tears down) a 2-interface pod, printing progress. It
// SIGKILLs itself right after the durable record reaches a given step: every write of
// the state store is watched (in this process only; no hook in src), and the k-th
// distinct record (phase + each interface's done steps) in the watched phase kills it.
//
// argv[2]: JSON { options, podId, netnsPath, mode: 'setup' | 'teardown' | 'attach' | 'detach', crashAt: number, cniResult?, networks? }
// (with a cniResult no CNI runs: the pod netns holds a shape the test made; `networks`: the
// setup's cni annotation, default 'neta,netb'). Modes attach/detach adopt a pod an earlier
// child set up, then attach netb as eth1 (or detach eth1); only their records are watched.
// crashAt 0 runs to the end (a dry run that lists the distinct records); -1 SIGKILLs the
// child once setupPod has resolved (a runtime killed with its pod ready).
import { writeSync } from 'node:fs';
import pino from 'pino';
import { createRuntime } from '../../src/index.js';
import { StateStore } from '../../src/io/state-store.js';

interface Args { options: Record<string, unknown>; podId: string; netnsPath: string; mode: 'setup' | 'teardown' | 'attach' | 'detach'; crashAt: number; cniResult?: unknown; networks?: string }
const args = JSON.parse(process.argv[2]!) as Args;
const say = (line: string): void => {
  // Synchronous: the line must be out before a SIGKILL that follows it.
  writeSync(1, `${line}\n`);
};

let watching = args.mode === 'setup';
const seen = new Set<string>();
// writeJson takes every write (write() serialises and calls it).
const writeJson = Object.getOwnPropertyDescriptor(StateStore.prototype, 'writeJson')!.value as (this: StateStore, podId: string, json: string, opts?: { sync?: boolean }) => void;
StateStore.prototype.writeJson = function (this: StateStore, podId: string, json: string, opts?: { sync?: boolean }): void {
  writeJson.call(this, podId, json, opts);
  if (!watching) return;
  const r = JSON.parse(json) as { phase: string; interfaces: Record<string, { done: string[] }>; resolved?: { change?: { op: string; child?: unknown } } };
  const ch = r.resolved?.change;
  // A hot-plug change recorded before its first effect, and again once resolved (CNI ADD done), is a step of its own.
  const sig = JSON.stringify([r.phase, Object.entries(r.interfaces).map(([k, v]) => `${k}:${v.done.join(',')}`), ...(ch ? [`${ch.op}${ch.child ? ':resolved' : ''}`] : [])]);
  if (seen.has(sig)) return;
  seen.add(sig);
  say(`record ${seen.size} ${sig}`);
  if (seen.size === args.crashAt) process.kill(process.pid, 'SIGKILL');
};

const rt = await createRuntime({ ...args.options, logger: pino({ level: 'silent' }) } as never);
if (args.mode === 'attach' || args.mode === 'detach') {
  watching = true;
  if (args.mode === 'attach') say(`attached ${(await rt.attachInterface(args.podId, { ifName: 'eth1', network: 'netb' })).name}`);
  else {
    await rt.detachInterface(args.podId, 'eth1');
    say('detached');
  }
  await rt.close();
  say('done');
  process.exit(0);
}
const net = await rt.setupPod({ podId: args.podId, netnsPath: args.netnsPath, ...(args.cniResult ? { cniResult: args.cniResult } : { annotations: { cni: args.networks ?? 'neta,netb' } }) });
say(`ready ${net.interfaces.map((i) => i.name).join(',')}`);
if (args.crashAt === -1) process.kill(process.pid, 'SIGKILL');
if (args.mode === 'teardown') {
  watching = true;
  await rt.teardownPod(args.podId);
  say('gone');
}
await rt.close();
say('done');

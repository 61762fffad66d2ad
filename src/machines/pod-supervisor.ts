// PodSupervisor: one per pod sandbox. Resolves the plan (CNI), records it, spawns one
// interface machine per interface and follows their snapshots; rolls all back when one
// fails; tears all down, releases CNI and forgets the pod. A rollback or teardown that
// leaves an interface unrestored keeps the pod (and its record) for a retry: nothing is
// forgotten while the kernel may still hold state. Decisions only: effects are
// the actors resolvePlan/persist/releaseCni/forget, and the interface machines are
// supplied by src/actors with .provide().
import { assign, enqueueActions, setup } from 'xstate';
import { notProvided as notProvidedIn, stepError, type StepError } from './common.js';
import type { PodNetworkPlan } from '../model/plan.js';
import type { RouteOrder } from '../model/kernel-route.js';
import { vethInterfaceMachine } from './veth-interface.js';
import { sriovInterfaceMachine } from './sriov-interface.js';

export type InterfaceKind = 'veth' | 'sriov';

/** One interface machine to spawn: its id, kind and input (built by the actors layer). */
export interface ChildSpec {
  id: string;
  kind: InterfaceKind;
  input: unknown;
}

export interface ResolvedPod {
  plan: PodNetworkPlan;
  children: ChildSpec[];
  /** True when netlet ran CNI ADD (so it must run DEL). */
  cniAdded: boolean;
  /** The pod netns's route order as CNI left it, before any interface was touched. */
  routeOrder?: RouteOrder;
}

/** A child machine's state in one word. */
export type ChildPhase =
  | 'settingUp' | 'ready' | 'recovering' | 'failed' | 'interrupted' | 'rollingBack'
  | 'tearingDown' | 'restored' | 'teardownFailed';

export type PodError = StepError;

export interface PodContext {
  podId: string;
  resolved: ResolvedPod | undefined;
  phases: Record<string, ChildPhase>;
  /** Children that reached a final state (they send no more snapshots). */
  finished: string[];
  error: PodError | undefined;
}

export type PodEvent =
  | { type: 'SETUP' }
  | { type: 'TEARDOWN' }
  | { type: `xstate.snapshot.${string}`; snapshot: { value: unknown; status: string } }
  | { type: `xstate.done.actor.${string}`; output?: unknown };

export interface PodInput {
  podId: string;
  /** A record from the state dir: the pod is adopted (or rolled back) instead of set up. */
  resume?: ResolvedPod;
}

const notProvided = <O, I>(name: string) => notProvidedIn<O, I>('pod', name, 'use the Pod wiring');

/** Top-level state of a child machine, as a phase. */
export function childPhase(value: unknown): ChildPhase {
  const top = value == null ? '' : typeof value === 'string' ? value : Object.keys(value)[0] ?? '';
  switch (top) {
    case 'ready': case 'recovering': case 'failed': case 'interrupted': case 'rollingBack':
    case 'tearingDown': case 'restored': case 'teardownFailed':
      return top;
    default:
      return 'settingUp';
  }
}

const ids = (c: PodContext): string[] => (c.resolved?.children ?? []).map((ch) => ch.id);
const phases = (c: PodContext): ChildPhase[] => ids(c).map((id) => c.phases[id] ?? 'settingUp');
const FINISHED: ChildPhase[] = ['restored', 'teardownFailed'];
const isFinished = (c: PodContext, id: string): boolean => c.finished.includes(id) || FINISHED.includes(c.phases[id] ?? 'settingUp');
/** Restored, or ended in failed after its own clean rollback (a final state of the SR-IOV machine). */
const isClean = (c: PodContext, id: string): boolean => c.phases[id] === 'restored' || (c.finished.includes(id) && c.phases[id] === 'failed');

export const podSetup = setup({
  types: { context: {} as PodContext, events: {} as PodEvent, input: {} as PodInput },
  actors: {
    resolvePlan: notProvided<ResolvedPod, { podId: string }>('resolvePlan'),
    persist: notProvided<void, { podId: string; resolved: ResolvedPod; phase: string }>('persist'),
    releaseCni: notProvided<void, { podId: string; resolved: ResolvedPod | undefined }>('releaseCni'),
    forget: notProvided<void, { podId: string }>('forget'),
    vethInterface: vethInterfaceMachine,
    sriovInterface: sriovInterfaceMachine,
  },
  actions: {
    spawnChildren: enqueueActions(({ context, enqueue }) => {
      for (const c of context.resolved?.children ?? []) {
        if (c.kind === 'veth') {
          enqueue.spawnChild('vethInterface', { id: c.id, input: c.input as never, syncSnapshot: true });
        } else {
          enqueue.spawnChild('sriovInterface', { id: c.id, input: c.input as never, syncSnapshot: true });
        }
        enqueue.sendTo(c.id, { type: 'START' });
      }
    }),
    /** `retry`: also tell children whose undo failed (teardownPod asks again; a rollback does not). */
    teardownChildren: enqueueActions(({ context, enqueue }, params: { retry: boolean }) => {
      const retried: string[] = [];
      for (const c of context.resolved?.children ?? []) {
        if (context.finished.includes(c.id) || context.phases[c.id] === 'restored') continue;
        if (context.phases[c.id] === 'teardownFailed') {
          if (!params.retry) continue;
          retried.push(c.id);
        }
        enqueue.sendTo(c.id, { type: 'TEARDOWN' });
      }
      // A child told to try again is tearing down, not finished: without this, a retried
      // teardown would end in teardownFailed at once while the child is still working.
      if (retried.length) enqueue.assign({ phases: { ...context.phases, ...Object.fromEntries(retried.map((id) => [id, 'tearingDown' as const])) } });
    }),
    /**
     * While rolling back or tearing down, a child that settles in a state that waits for
     * TEARDOWN (it was busy when TEARDOWN came and dropped it, e.g. rolling back its own
     * failed step) is told again; otherwise the pod would wait for it forever.
     */
    teardownSettledChild: enqueueActions(({ event, enqueue }) => {
      if (!event.type.startsWith('xstate.snapshot.')) return;
      const id = event.type.slice('xstate.snapshot.'.length);
      const phase = childPhase((event as { snapshot: { value: unknown } }).snapshot.value);
      if (phase === 'failed' || phase === 'interrupted' || phase === 'ready') enqueue.sendTo(id, { type: 'TEARDOWN' });
    }),
    childDone: assign({
      finished: ({ context, event }) => [...context.finished, event.type.slice('xstate.done.actor.'.length)],
      phases: ({ context, event, self }) => {
        const id = event.type.slice('xstate.done.actor.'.length);
        const child = (self.getSnapshot().children as Record<string, { getSnapshot(): { value: unknown } } | undefined>)[id];
        return child ? { ...context.phases, [id]: childPhase(child.getSnapshot().value) } : context.phases;
      },
    }),
    trackChild: assign({
      phases: ({ context, event }) => {
        if (!event.type.startsWith('xstate.snapshot.')) return context.phases;
        const id = event.type.slice('xstate.snapshot.'.length);
        const snap = (event as { snapshot: { value: unknown } }).snapshot;
        return { ...context.phases, [id]: childPhase(snap.value) };
      },
    }),
    childFailed: assign({
      error: ({ context }) => {
        const bad = (context.resolved?.children ?? []).filter((c) => ['failed', 'interrupted', 'teardownFailed'].includes(context.phases[c.id] ?? ''));
        return context.error ?? { code: 'INTERFACE_FAILED', step: 'interfaces', message: `interface(s) ${bad.map((c) => c.id).join(', ')} failed` };
      },
    }),
    /** How the rollback ended, appended to the setup error (the pod's status shows it). */
    noteRollback: assign({
      error: ({ context }, params: { outcome: string }) => context.error && { ...context.error, message: `${context.error.message}; ${params.outcome}` },
    }),
  },
  guards: {
    resumed: ({ context }) => context.resolved !== undefined,
    allReady: ({ context }) => phases(context).every((p) => p === 'ready'),
    anyFailed: ({ context }) => phases(context).some((p) => p === 'failed' || p === 'interrupted' || p === 'teardownFailed'),
    allFinished: ({ context }) => ids(context).every((id) => isFinished(context, id)),
    allRestored: ({ context }) => ids(context).every((id) => isClean(context, id)),
  },
});

export const podSupervisorMachine = podSetup.createMachine({
  id: 'pod',
  context: ({ input }) => ({ podId: input.podId, resolved: input.resume, phases: {}, finished: [], error: undefined }),
  initial: 'idle',
  on: { 'xstate.snapshot.*': { actions: 'trackChild' }, 'xstate.done.actor.*': { actions: 'childDone' } },
  states: {
    idle: {
      on: {
        SETUP: [{ guard: 'resumed', target: 'resuming' }, { target: 'resolving' }],
        TEARDOWN: [{ guard: 'resumed', target: 'resumingForTeardown' }, { target: 'gone' }],
      },
    },
    /** Adopting a recorded pod: ready children are served again; half-done ones roll back. */
    resuming: {
      entry: 'spawnChildren',
      on: { TEARDOWN: { target: 'tearingDown' } },
      always: [
        { guard: 'allReady', target: 'ready' },
        { guard: 'anyFailed', target: 'rollingBack', actions: 'childFailed' },
      ],
    },
    resumingForTeardown: { entry: 'spawnChildren', always: { target: 'tearingDown' } },
    resolving: {
      invoke: {
        src: 'resolvePlan',
        input: ({ context }) => ({ podId: context.podId }),
        onDone: { target: 'recording', actions: assign({ resolved: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => stepError('resolving', event.error) }) },
      },
    },
    recording: {
      invoke: {
        src: 'persist',
        input: ({ context }) => ({ podId: context.podId, resolved: context.resolved!, phase: 'settingUp' }),
        onDone: 'startingInterfaces',
        onError: { target: 'releasingAfterRollback', actions: assign({ error: ({ event }) => stepError('recording', event.error) }) },
      },
    },
    startingInterfaces: {
      entry: 'spawnChildren',
      always: [
        { guard: 'allReady', target: 'ready' },
        { guard: 'anyFailed', target: 'rollingBack', actions: 'childFailed' },
      ],
    },
    ready: {
      on: { TEARDOWN: 'tearingDown' },
    },
    rollingBack: {
      entry: { type: 'teardownChildren', params: { retry: false } },
      on: { 'xstate.snapshot.*': { actions: ['trackChild', 'teardownSettledChild'] } },
      always: [
        { guard: 'allRestored', target: 'releasingAfterRollback', actions: { type: 'noteRollback', params: { outcome: 'the pod was rolled back' } } },
        // An undo failed: CNI is not released and the record stays, as after a failed teardown.
        { guard: 'allFinished', target: 'rollbackFailed', actions: { type: 'noteRollback', params: { outcome: 'the rollback is incomplete' } } },
      ],
    },
    /** Setup failed and an interface could not be rolled back; TEARDOWN (teardownPod, or a restart) retries. */
    rollbackFailed: { on: { TEARDOWN: 'tearingDown' } },
    releasingAfterRollback: {
      invoke: {
        src: 'releaseCni',
        input: ({ context }) => ({ podId: context.podId, resolved: context.resolved }),
        onDone: 'forgettingAfterRollback',
        onError: { target: 'forgettingAfterRollback' },
      },
    },
    forgettingAfterRollback: {
      invoke: {
        src: 'forget',
        input: ({ context }) => ({ podId: context.podId }),
        onDone: 'failed',
        onError: 'failed',
      },
    },
    /** Setup failed and everything was undone; the error says why. */
    failed: { type: 'final' },
    tearingDown: {
      entry: { type: 'teardownChildren', params: { retry: true } },
      on: { 'xstate.snapshot.*': { actions: ['trackChild', 'teardownSettledChild'] } },
      always: [
        { guard: 'allRestored', target: 'releasing' },
        { guard: 'allFinished', target: 'teardownFailed' },
      ],
    },
    /** An interface could not be restored; TEARDOWN tries again. */
    teardownFailed: { on: { TEARDOWN: 'tearingDown' } },
    releasing: {
      invoke: {
        src: 'releaseCni',
        input: ({ context }) => ({ podId: context.podId, resolved: context.resolved }),
        onDone: 'forgetting',
        onError: { target: 'teardownFailed', actions: assign({ error: ({ event }) => stepError('releasing', event.error) }) },
      },
    },
    forgetting: {
      invoke: {
        src: 'forget',
        input: ({ context }) => ({ podId: context.podId }),
        onDone: 'gone',
        onError: { target: 'teardownFailed', actions: assign({ error: ({ event }) => stepError('forgetting', event.error) }) },
      },
    },
    gone: { type: 'final' },
  },
});

/** The pod's phase for status: derived from the supervisor state and its children. */
export function podPhase(stateValue: unknown, context: PodContext): string {
  const top = typeof stateValue === 'string' ? stateValue : Object.keys(stateValue as object)[0] ?? '';
  if (top === 'ready') return phases(context).every((p) => p === 'ready') ? 'ready' : 'degraded';
  if (['idle', 'resolving', 'recording', 'startingInterfaces', 'resuming'].includes(top)) return 'settingUp';
  if (['rollingBack', 'releasingAfterRollback', 'forgettingAfterRollback'].includes(top)) return 'rollingBack';
  if (['tearingDown', 'releasing', 'forgetting', 'resumingForTeardown'].includes(top)) return 'tearingDown';
  return top;
}

// PodSupervisor: one per pod sandbox. Resolves the plan (CNI), records it, spawns one
// interface machine per interface and follows their snapshots; rolls all back when one
// fails; tears all down, releases CNI and forgets the pod. A rollback or teardown that
// leaves an interface unrestored keeps the pod (and its record) for a retry: nothing is
// forgotten while the kernel may still hold state. Decisions only: effects are
// the actors resolvePlan/persist/releaseCni/forget, and the interface machines are
// supplied by src/actors with .provide().
// Hot-plug (ATTACH/DETACH while ready) changes one child at a time: the change is recorded
// in ResolvedPod.change before its first effect; a restart undoes a recorded attach and
// finishes a recorded detach. A failed attach undoes that interface only.
import { and, assign, enqueueActions, setup } from 'xstate';
import { notProvided as notProvidedIn, stepError, type StepError } from './common.js';
import type { PodNetworkPlan } from '../model/plan.js';
import type { RouteOrder } from '../model/kernel-route.js';
import { vethInterfaceMachine } from './veth-interface.js';
import { sriovInterfaceMachine } from './sriov-interface.js';
import type { AttachRequest, ChangeChild, ChangeOutcome, PendingChange } from './pod-change.js';

export type { AttachRequest, ChangeOutcome, PendingChange } from './pod-change.js';

export type InterfaceKind = 'veth' | 'sriov';

/** One interface machine to spawn: its id, kind and input (built by the actors layer). */
export interface ChildSpec extends ChangeChild {
  kind: InterfaceKind;
}

export interface ResolvedPod {
  plan: PodNetworkPlan;
  children: ChildSpec[];
  /** True when netlet ran CNI ADD (so it must run DEL). */
  cniAdded: boolean;
  /** The pod netns's route order as CNI left it, before any interface was touched. */
  routeOrder?: RouteOrder;
  /** net.ipv6.conf.all.forwarding as CNI left it: the last restore puts it back (src/io/ipv6-route.ts). */
  forwarding6?: string;
  /** An attach or detach in progress. */
  change?: PendingChange;
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
  /** How the last attach/detach ended. */
  lastChange?: ChangeOutcome;
  /** The attach being worked on (not recorded: a restart undoes the attach anyway). */
  attachRequest?: AttachRequest;
  /** Why the child of the change failed, read before its undo replaces it. */
  changeError?: StepError;
}

export type PodEvent =
  | { type: 'SETUP' }
  | { type: 'TEARDOWN' }
  | { type: 'ATTACH'; request: AttachRequest }
  | { type: 'DETACH'; ifName: string }
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
/** The committed children plus one being attached: what a rollback or teardown must undo. */
const allChildren = (c: PodContext): ChildSpec[] => {
  const extra = c.resolved?.change?.child;
  return [...(c.resolved?.children ?? []), ...(extra ? [extra] : [])];
};
const allIds = (c: PodContext): string[] => allChildren(c).map((ch) => ch.id);
/** The child an attach or detach in progress works on. */
const changeId = (c: PodContext): string | undefined => c.resolved?.change?.child?.id ?? (c.resolved?.change?.op === 'detach' ? c.resolved.change.ifName : undefined);
/** Phases of the children the pod keeps (one being detached is on its way out). */
const phases = (c: PodContext): ChildPhase[] => ids(c).filter((id) => c.resolved?.change?.op !== 'detach' || id !== c.resolved.change.ifName).map((id) => c.phases[id] ?? 'settingUp');
const FINISHED: ChildPhase[] = ['restored', 'teardownFailed'];
const isFinished = (c: PodContext, id: string): boolean => c.finished.includes(id) || FINISHED.includes(c.phases[id] ?? 'settingUp');
/** Restored, or ended in failed after its own clean rollback (a final state of the SR-IOV machine). */
const isClean = (c: PodContext, id: string): boolean => c.phases[id] === 'restored' || (c.finished.includes(id) && c.phases[id] === 'failed');

export const podSetup = setup({
  types: { context: {} as PodContext, events: {} as PodEvent, input: {} as PodInput },
  actors: {
    resolvePlan: notProvided<ResolvedPod, { podId: string }>('resolvePlan'),
    resolveAttach: notProvided<{ iface: NonNullable<PendingChange['iface']>; child: ChildSpec }, { podId: string; request: AttachRequest }>('resolveAttach'),
    releaseAttach: notProvided<void, { podId: string; ifName: string; network?: string; cniAdded: boolean }>('releaseAttach'),
    persist: notProvided<void, { podId: string; resolved: ResolvedPod; phase: string }>('persist'),
    releaseCni: notProvided<void, { podId: string; resolved: ResolvedPod | undefined }>('releaseCni'),
    forget: notProvided<void, { podId: string }>('forget'),
    vethInterface: vethInterfaceMachine,
    sriovInterface: sriovInterfaceMachine,
  },
  actions: {
    /** `only: 'change'`: just the child being attached. */
    spawnChildren: enqueueActions(({ context, enqueue }, params?: { only: 'change' }) => {
      const spawn = params?.only === 'change' ? allChildren(context).filter((c) => c.id === changeId(context)) : allChildren(context);
      for (const c of spawn) {
        if (c.kind === 'veth') {
          enqueue.spawnChild('vethInterface', { id: c.id, input: c.input as never, syncSnapshot: true });
        } else {
          enqueue.spawnChild('sriovInterface', { id: c.id, input: c.input as never, syncSnapshot: true });
        }
        enqueue.sendTo(c.id, { type: 'START' });
      }
    }),
    /** `retry`: also tell children whose undo failed (teardownPod asks again; a rollback does not). */
    teardownChildren: enqueueActions(({ context, enqueue }, params: { retry: boolean; only?: 'change' }) => {
      const retried: string[] = [];
      for (const c of allChildren(context)) {
        if (params.only === 'change' && c.id !== changeId(context)) continue;
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
    teardownSettledChild: enqueueActions(({ context, event, enqueue }, params?: { only: 'change' }) => {
      if (!event.type.startsWith('xstate.snapshot.')) return;
      const id = event.type.slice('xstate.snapshot.'.length);
      // While one interface is undone, the others keep serving (one may recover to ready).
      if (params?.only === 'change' && id !== changeId(context)) return;
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
        const bad = allChildren(context).filter((c) => ['failed', 'interrupted', 'teardownFailed'].includes(context.phases[c.id] ?? ''));
        return context.error ?? { code: 'INTERFACE_FAILED', step: 'interfaces', message: `interface(s) ${bad.map((c) => c.id).join(', ')} failed` };
      },
    }),
    /** How the rollback ended, appended to the setup error (the pod's status shows it). */
    noteRollback: assign({
      error: ({ context }, params: { outcome: string }) => context.error && { ...context.error, message: `${context.error.message}; ${params.outcome}` },
    }),
    /** Records the change before its first effect; a new child of a reused name starts with a clean slate. */
    beginChange: assign(({ context, event }) => {
      const change: PendingChange = event.type === 'ATTACH'
        ? { op: 'attach', ifName: event.request.ifName, ...(event.request.network ? { network: event.request.network } : {}) }
        : { op: 'detach', ifName: (event as { ifName: string }).ifName };
      const phases = { ...context.phases };
      if (change.op === 'attach') delete phases[change.ifName];
      return {
        resolved: { ...context.resolved!, change },
        phases,
        finished: change.op === 'attach' ? context.finished.filter((id) => id !== change.ifName) : context.finished,
        lastChange: undefined,
        changeError: undefined,
        attachRequest: event.type === 'ATTACH' ? event.request : undefined,
      };
    }),
    noteChangeError: assign({
      changeError: ({ context, self }) => {
        const id = changeId(context) ?? '';
        const child = (self.getSnapshot().children as Record<string, { getSnapshot(): { context?: { error?: StepError; undoError?: StepError } } } | undefined>)[id];
        const c = child?.getSnapshot().context;
        return c?.error ?? c?.undoError ?? context.changeError;
      },
    }),
    setChangeChild: assign({
      resolved: ({ context, event }) => {
        const out = (event as unknown as { output: { iface: PendingChange['iface']; child: ChildSpec } }).output;
        return { ...context.resolved!, change: { ...context.resolved!.change!, iface: out.iface, child: out.child } };
      },
    }),
    /** The attached child joins the pod (plan and children); the change is over. */
    commitAttach: assign(({ context }) => {
      const r = context.resolved!;
      const ch = r.change!;
      return {
        resolved: { ...withoutChange(r), plan: { ...r.plan, interfaces: [...r.plan.interfaces, ch.iface!] }, children: [...r.children, ch.child as ChildSpec] },
        lastChange: { op: 'attach' as const, ifName: ch.ifName, outcome: 'done' as const },
        attachRequest: undefined,
      };
    }),
    /** The detached child leaves the pod. */
    commitDetach: assign(({ context }) => {
      const r = context.resolved!;
      const id = r.change!.ifName;
      const phases = { ...context.phases };
      delete phases[id];
      return {
        resolved: { ...withoutChange(r), plan: { ...r.plan, interfaces: r.plan.interfaces.filter((i) => i.name !== id) }, children: r.children.filter((c) => c.id !== id) },
        phases,
        finished: context.finished.filter((x) => x !== id),
        lastChange: { op: 'detach' as const, ifName: id, outcome: 'done' as const },
      };
    }),
    /**
     * The change ends without committing. `keepChild`: an attach whose undo failed keeps its
     * child in the pod (degraded) so that detach or teardown retries it.
     */
    endChange: assign(({ context, event }, params: { outcome: ChangeOutcome['outcome']; keepChild?: boolean }) => {
      const r = context.resolved!;
      const ch = r.change!;
      const err = (event as { error?: unknown }).error;
      const error = err !== undefined ? stepError(ch.op === 'attach' ? 'attaching' : 'detaching', err) : context.changeError;
      const keep = params.keepChild && ch.op === 'attach' && ch.child;
      return {
        resolved: keep ? { ...withoutChange(r), plan: { ...r.plan, interfaces: [...r.plan.interfaces, ch.iface!] }, children: [...r.children, ch.child as ChildSpec] } : withoutChange(r),
        lastChange: { op: ch.op, ifName: ch.ifName, outcome: params.outcome, ...(error ? { error } : {}) },
        attachRequest: undefined,
      };
    }),
  },
  guards: {
    resumed: ({ context }) => context.resolved !== undefined,
    allReady: ({ context }) => phases(context).every((p) => p === 'ready'),
    anyFailed: ({ context }) => phases(context).some((p) => p === 'failed' || p === 'interrupted' || p === 'teardownFailed'),
    allFinished: ({ context }) => allIds(context).every((id) => isFinished(context, id)),
    allRestored: ({ context }) => allIds(context).every((id) => isClean(context, id)),
    attachPending: ({ context }) => context.resolved?.change?.op === 'attach',
    detachPending: ({ context }) => context.resolved?.change?.op === 'detach',
    /** The name is free: no interface of the pod (or change in progress) has it. */
    nameFree: ({ context, event }) => event.type === 'ATTACH' && !allIds(context).includes(event.request.ifName),
    knownChild: ({ context, event }) => event.type === 'DETACH' && ids(context).includes(event.ifName),
    changeReady: ({ context }) => context.phases[changeId(context) ?? ''] === 'ready',
    changeFailed: ({ context }) => ['failed', 'interrupted', 'teardownFailed'].includes(context.phases[changeId(context) ?? ''] ?? ''),
    /** Nothing to undo (no child yet), or the child restored. */
    changeClean: ({ context }) => { const id = changeId(context); return id === undefined || !allIds(context).includes(id) || isClean(context, id); },
    changeFinished: ({ context }) => { const id = changeId(context); return id !== undefined && isFinished(context, id); },
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
        // A restart undoes an attach it interrupted and finishes a detach.
        { guard: and(['allReady', 'attachPending']), target: 'attaching.rollingBack' },
        { guard: and(['allReady', 'detachPending']), target: 'detaching.stopping' },
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
      on: {
        TEARDOWN: 'tearingDown',
        ATTACH: { guard: 'nameFree', target: 'attaching', actions: 'beginChange' },
        DETACH: { guard: 'knownChild', target: 'detaching', actions: 'beginChange' },
      },
    },
    /** One interface joins the ready pod; the others serve on. A failure undoes it alone. */
    attaching: {
      initial: 'recordingIntent',
      states: {
        // Before CNI ADD: a restart DELs whatever the ADD left.
        recordingIntent: {
          invoke: {
            src: 'persist',
            input: ({ context }) => ({ podId: context.podId, resolved: context.resolved!, phase: 'attaching' }),
            onDone: 'resolving',
            onError: { target: '#pod.ready', actions: { type: 'endChange', params: { outcome: 'rolledBack' } } },
          },
        },
        resolving: {
          invoke: {
            src: 'resolveAttach',
            input: ({ context }) => ({ podId: context.podId, request: context.attachRequest ?? { ifName: context.resolved!.change!.ifName } }),
            onDone: { target: 'recording', actions: 'setChangeChild' },
            // resolveAttach undoes its own CNI ADD; nothing else was touched.
            onError: { target: '#pod.ready', actions: { type: 'endChange', params: { outcome: 'rolledBack' } } },
          },
        },
        recording: {
          invoke: {
            src: 'persist',
            input: ({ context }) => ({ podId: context.podId, resolved: context.resolved!, phase: 'attaching' }),
            onDone: 'starting',
            onError: 'releasing',
          },
        },
        starting: {
          entry: { type: 'spawnChildren', params: { only: 'change' } },
          always: [
            { guard: 'changeReady', target: '#pod.ready', actions: 'commitAttach' },
            { guard: 'changeFailed', target: 'rollingBack', actions: 'noteChangeError' },
          ],
        },
        rollingBack: {
          entry: { type: 'teardownChildren', params: { retry: false, only: 'change' } },
          on: { 'xstate.snapshot.*': { actions: ['trackChild', { type: 'teardownSettledChild', params: { only: 'change' } }] } },
          always: [
            { guard: 'changeClean', target: 'releasing' },
            // Its undo failed: it stays in the pod (degraded); detach or teardown retries.
            { guard: 'changeFinished', target: '#pod.ready', actions: ['noteChangeError', { type: 'endChange', params: { outcome: 'incomplete', keepChild: true } }] },
          ],
        },
        releasing: {
          invoke: {
            src: 'releaseAttach',
            input: ({ context }) => ({ podId: context.podId, ifName: context.resolved!.change!.ifName, ...(context.resolved!.change!.network ? { network: context.resolved!.change!.network } : {}), cniAdded: context.resolved!.change!.network !== undefined }),
            onDone: { target: '#pod.ready', actions: { type: 'endChange', params: { outcome: 'rolledBack' } } },
            onError: { target: '#pod.ready', actions: { type: 'endChange', params: { outcome: 'rolledBack' } } },
          },
        },
      },
    },
    /** One interface leaves the ready pod: its machine undoes it, then CNI DEL if netlet ran ADD. */
    detaching: {
      initial: 'recording',
      states: {
        recording: {
          invoke: {
            src: 'persist',
            input: ({ context }) => ({ podId: context.podId, resolved: context.resolved!, phase: 'detaching' }),
            onDone: 'stopping',
            onError: { target: '#pod.ready', actions: { type: 'endChange', params: { outcome: 'incomplete' } } },
          },
        },
        stopping: {
          entry: { type: 'teardownChildren', params: { retry: true, only: 'change' } },
          on: { 'xstate.snapshot.*': { actions: ['trackChild', { type: 'teardownSettledChild', params: { only: 'change' } }] } },
          always: [
            { guard: 'changeClean', target: 'releasing' },
            { guard: 'changeFinished', target: '#pod.ready', actions: ['noteChangeError', { type: 'endChange', params: { outcome: 'incomplete' } }] },
          ],
        },
        releasing: {
          invoke: {
            src: 'releaseAttach',
            input: ({ context }) => {
              const c = context.resolved!.children.find((x) => x.id === context.resolved!.change!.ifName);
              return { podId: context.podId, ifName: context.resolved!.change!.ifName, cniAdded: context.resolved!.cniAdded || c?.cniAdded === true };
            },
            onDone: { target: '#pod.ready', actions: 'commitDetach' },
            // The interface is restored but CNI still holds it: it stays (restored) until a detach or teardown DELs it.
            onError: { target: '#pod.ready', actions: { type: 'endChange', params: { outcome: 'incomplete' } } },
          },
        },
      },
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
  if (top === 'attaching' || top === 'detaching') return top;
  if (['idle', 'resolving', 'recording', 'startingInterfaces', 'resuming'].includes(top)) return 'settingUp';
  if (['rollingBack', 'releasingAfterRollback', 'forgettingAfterRollback'].includes(top)) return 'rollingBack';
  if (['tearingDown', 'releasing', 'forgetting', 'resumingForTeardown'].includes(top)) return 'tearingDown';
  return top;
}

const withoutChange = (r: ResolvedPod): ResolvedPod => {
  const { change: _c, ...rest } = r;
  return rest;
};

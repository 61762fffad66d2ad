// VethInterface: turns one CNI veth into bridge + TAP + DHCP for a VM, and back.
// Decisions only; every effect is an actor supplied by provideVeth (src/actors).
//
// setup:    capturing → stripping → plumbing → isolating → serving → ready
// The table after the links: a bridge-family chain made in a netns that has no bridge yet
// never sees the frames of bridges made later (kernel 6.18, measured: docs/performance.md,
// seventh pass); the ipv6-pod capture test fails with the two steps swapped.
// teardown: { stoppingDhcp → unisolating ∥ unplumbing } → restoring → restored
// A failed setup step runs the same (idempotent) undo chain (rollingBack) → failed.
// EBUSY/EAGAIN are retried with a bounded backoff. After ready, DHCP_LOST and
// LINK_LOST lead to recovering; VETH_LOST to failed.
import { assign, setup } from 'xstate';
import { notProvided as notProvidedIn, stepError } from './common.js';
import type { VethInput, VethRecord, VethResume, VethSettings, VethStepError } from './veth-contract.js';

export * from './veth-contract.js';

export interface VethContext {
  ifName: string;
  settings: VethSettings;
  record: VethRecord | undefined;
  resume: VethResume | undefined;
  /** Completed steps in order; undo steps are prefixed "teardown:" or "rollback:". */
  done: string[];
  attempts: number;
  teardownRequested: boolean;
  error: VethStepError | undefined;
  undoError: VethStepError | undefined;
}

export type VethEvent =
  | { type: 'START' }
  | { type: 'TEARDOWN' }
  | { type: 'DHCP_LOST'; reason?: string }
  | { type: 'LINK_LOST'; link: string }
  | { type: 'VETH_LOST' };

export const VETH_SETUP_STEPS = ['capturing', 'stripping', 'plumbing', 'isolating', 'serving'] as const;
export const VETH_UNDO_STEPS = ['stoppingDhcp', 'unisolating', 'unplumbing', 'restoring'] as const;
export const MAX_ATTEMPTS = 4;
const RETRIABLE = new Set(['EBUSY', 'EAGAIN', 'ETIMEDOUT']);

const notProvided = <O, I>(name: string) => notProvidedIn<O, I>('veth', name, 'use provideVeth');

type ErrorEvt = { error: unknown };
type Ctx = { context: VethContext };

export const vethSetup = setup({
  types: { context: {} as VethContext, events: {} as VethEvent, input: {} as VethInput },
  actors: {
    capture: notProvided<VethRecord, { ifName: string }>('capture'),
    strip: notProvided<void, { record: VethRecord }>('strip'),
    plumb: notProvided<void, { record: VethRecord; settings: VethSettings }>('plumb'),
    isolate: notProvided<void, { record: VethRecord; settings: VethSettings }>('isolate'),
    startDhcp: notProvided<void, { settings: VethSettings; rebind?: boolean }>('startDhcp'),
    stopDhcp: notProvided<void, { settings: VethSettings }>('stopDhcp'),
    unisolate: notProvided<void, { settings: VethSettings }>('unisolate'),
    unplumb: notProvided<void, { settings: VethSettings; ifName: string }>('unplumb'),
    restore: notProvided<void, { record: VethRecord }>('restore'),
  },
  delays: {
    // 50, 100, 200 ms: EBUSY from the kernel passes quickly or not at all.
    backoff: ({ context }) => 25 * 2 ** context.attempts,
  },
  actions: {
    markDone: assign({ done: ({ context }, params: { step: string }) => [...context.done, params.step], attempts: 0 }),
    countAttempt: assign({ attempts: ({ context }) => context.attempts + 1 }),
    requestTeardown: assign({ teardownRequested: true }),
    restoreResume: assign(({ context }) => ({ done: [...(context.resume?.done ?? [])], record: context.resume?.record })),
    setError: assign({ error: ({ event }, params: { step: string }) => stepError(params.step, (event as unknown as ErrorEvt).error) }),
    setUndoError: assign({ undoError: ({ event }, params: { step: string }) => stepError(params.step, (event as unknown as ErrorEvt).error) }),
    setLost: assign({
      error: ({ event }) => {
        if (event.type === 'VETH_LOST') return { code: 'VETH_LOST', step: 'ready', message: 'the CNI veth disappeared from the pod netns; the interface cannot be recovered' };
        if (event.type === 'DHCP_LOST') return { code: 'DHCP_LOST', step: 'ready', message: `DHCP service lost: ${event.reason ?? 'worker exited'}; restarting it` };
        if (event.type === 'LINK_LOST') return { code: 'LINK_LOST', step: 'ready', message: `link ${event.link} disappeared; re-plumbing` };
        return undefined;
      },
    }),
    clearError: assign({ error: undefined }),
  },
  guards: {
    retriable: ({ context, event }) => {
      const code = (event as unknown as { error?: { code?: unknown } }).error?.code;
      return typeof code === 'string' && RETRIABLE.has(code) && context.attempts + 1 < MAX_ATTEMPTS;
    },
    teardownRequested: ({ context }) => context.teardownRequested,
    resumed: ({ context }) => context.resume !== undefined,
    resumedReady: ({ context }) => {
      const r = context.resume;
      return !!r?.record && r.done.includes('serving') && !r.done.some((s) => s.includes(':'));
    },
    hasRecord: ({ context }) => context.record !== undefined,
  },
});

type UndoKind = 'tearingDown' | 'rollingBack';
// The step builders below return plain configs; XState's inferred config types cannot
// follow a src chosen by parameter, so their results are cast where they are placed.

/** One setup step: invoke, retry transient errors with backoff, honour a queued TEARDOWN. */
function setupStep(step: string, src: 'capture' | 'strip' | 'plumb' | 'isolate' | 'startDhcp', next: string, input: (c: VethContext) => unknown) {
  const mark = { type: 'markDone', params: { step } } as const;
  return {
    initial: 'running',
    on: { TEARDOWN: { actions: 'requestTeardown' } },
    states: {
      running: {
        invoke: {
          id: step,
          src,
          input: ({ context }: Ctx) => input(context),
          onDone: [
            { guard: 'teardownRequested', target: '#veth.tearingDown', actions: mark },
            { target: next, actions: mark },
          ],
          onError: [
            { guard: 'retriable', target: 'backingOff', actions: 'countAttempt' },
            { target: '#veth.rollingBack', actions: { type: 'setError', params: { step } } },
          ],
        },
      },
      backingOff: { after: { backoff: 'running' } },
    },
  } as const;
}

/** The undo chain; every step idempotent, so it runs whole from any state. */
function undoStates(kind: UndoKind) {
  const prefix = kind === 'tearingDown' ? 'teardown' : 'rollback';
  const end = kind === 'tearingDown' ? '#veth.restored' : '#veth.failed';
  const mark = (s: string) => ({ type: 'markDone', params: { step: `${prefix}:${s}` } }) as const;
  const fail = (s: string) => ({ target: kind === 'tearingDown' ? '#veth.teardownFailed' : '#veth.failed', actions: { type: 'setUndoError', params: { step: `${prefix}:${s}` } } }) as const;
  const step = (s: string, src: 'stopDhcp' | 'unisolate' | 'unplumb' | 'restore', next: unknown, input: (c: VethContext) => unknown) => ({
    invoke: { id: `${prefix}.${s}`, src, input: ({ context }: Ctx) => input(context), onDone: next, onError: fail(s) },
  });
  const next = kind === 'rollingBack' ? 'restoring' : [{ guard: 'hasRecord', target: 'restoring' }, { target: end }];
  return {
    initial: 'unwiring',
    states: {
      // The links go at once, with DHCP still serving: deleting the bridge takes the veth off
      // it (and under load each deletion waits its turn for the rtnl lock: docs/performance.md).
      // The table goes only after DHCP has stopped: until then it keeps the server off the veth.
      unwiring: {
        type: 'parallel',
        states: {
          service: {
            initial: 'stoppingDhcp',
            states: {
              stoppingDhcp: step('stoppingDhcp', 'stopDhcp', { target: 'unisolating', actions: mark('stoppingDhcp') }, (c) => ({ settings: c.settings })),
              unisolating: step('unisolating', 'unisolate', { target: 'done', actions: mark('unisolating') }, (c) => ({ settings: c.settings })),
              done: { type: 'final' },
            },
          },
          links: {
            initial: 'unplumbing',
            states: {
              unplumbing: step('unplumbing', 'unplumb', { target: 'done', actions: mark('unplumbing') }, (c) => ({ settings: c.settings, ifName: c.ifName })),
              done: { type: 'final' },
            },
          },
        },
        // A rollback always has the record (capture came first); a resumed teardown may not.
        onDone: next,
      },
      restoring: step('restoring', 'restore', { target: end, actions: mark('restoring') }, (c) => ({ record: c.record! })),
    },
  } as const;
}

export const vethInterfaceMachine = vethSetup.createMachine({
  id: 'veth',
  context: ({ input }) => ({
    ifName: input.ifName,
    settings: input.settings,
    record: undefined,
    resume: input.resume,
    done: [],
    attempts: 0,
    teardownRequested: false,
    error: undefined,
    undoError: undefined,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        START: [
          { guard: 'resumedReady', target: 'adopting', actions: 'restoreResume' },
          { guard: 'resumed', target: 'interrupted', actions: 'restoreResume' },
          { target: 'capturing' },
        ],
        TEARDOWN: [
          // A resumed interface may hold anything up to a full setup: undo it all.
          { guard: 'resumed', target: 'tearingDown', actions: 'restoreResume' },
          { target: 'restored' },
        ],
      },
    },
    /** A setup cut short by a crash: rolled back on TEARDOWN (the rule: roll back, never finish). */
    interrupted: { on: { TEARDOWN: { target: 'tearingDown' } } },
    /** A pod that was ready before a restart: DHCP served again, links checked. */
    adopting: {
      on: { TEARDOWN: { actions: 'requestTeardown' } },
      invoke: {
        id: 'adopting',
        src: 'startDhcp',
        input: ({ context }) => ({ settings: context.settings }),
        onDone: [{ guard: 'teardownRequested', target: 'tearingDown' }, { target: 'ready' }],
        onError: { target: 'recovering', actions: { type: 'setError', params: { step: 'adopting' } } },
      },
    },
    capturing: {
      initial: 'running',
      on: { TEARDOWN: { actions: 'requestTeardown' } },
      states: {
        running: {
          invoke: {
            id: 'capturing',
            src: 'capture',
            input: ({ context }) => ({ ifName: context.ifName }),
            onDone: [
              // Nothing changed yet: a teardown now has nothing to undo.
              { guard: 'teardownRequested', target: '#veth.restored', actions: { type: 'markDone', params: { step: 'capturing' } } },
              {
                target: '#veth.stripping',
                actions: [assign({ record: ({ event }) => event.output }), { type: 'markDone', params: { step: 'capturing' } }],
              },
            ],
            onError: [
              { guard: 'retriable', target: 'backingOff', actions: 'countAttempt' },
              { target: '#veth.failed', actions: { type: 'setError', params: { step: 'capturing' } } },
            ],
          },
        },
        backingOff: { after: { backoff: 'running' } },
      },
    },
    stripping: setupStep('stripping', 'strip', '#veth.plumbing', (c) => ({ record: c.record! })) as never,
    plumbing: setupStep('plumbing', 'plumb', '#veth.isolating', (c) => ({ record: c.record!, settings: c.settings })) as never,
    isolating: setupStep('isolating', 'isolate', '#veth.serving', (c) => ({ record: c.record!, settings: c.settings })) as never,
    serving: setupStep('serving', 'startDhcp', '#veth.ready', (c) => ({ settings: c.settings })) as never,
    ready: {
      on: {
        TEARDOWN: { target: 'tearingDown' },
        DHCP_LOST: { target: 'recovering.restartingDhcp', actions: 'setLost' },
        LINK_LOST: { target: 'recovering.replumbing', actions: 'setLost' },
        VETH_LOST: { target: 'failed', actions: 'setLost' },
      },
    },
    recovering: {
      initial: 'restartingDhcp',
      on: { TEARDOWN: { actions: 'requestTeardown' }, VETH_LOST: { target: 'failed', actions: 'setLost' } },
      states: {
        restartingDhcp: {
          invoke: {
            id: 'recovering.restartingDhcp',
            src: 'startDhcp',
            // The bridge may be a new one (LINK_LOST): the servers' sockets are made again.
            input: ({ context }) => ({ settings: context.settings, rebind: true }),
            onDone: [{ guard: 'teardownRequested', target: '#veth.tearingDown' }, { target: '#veth.ready', actions: 'clearError' }],
            onError: { target: '#veth.failed', actions: { type: 'setError', params: { step: 'recovering' } } },
          },
        },
        replumbing: {
          invoke: {
            id: 'recovering.replumbing',
            src: 'plumb',
            input: ({ context }) => ({ record: context.record!, settings: context.settings }),
            onDone: 'reisolating',
            onError: { target: '#veth.failed', actions: { type: 'setError', params: { step: 'recovering' } } },
          },
        },
        reisolating: {
          invoke: {
            id: 'recovering.reisolating',
            src: 'isolate',
            input: ({ context }) => ({ record: context.record!, settings: context.settings }),
            onDone: 'restartingDhcp',
            onError: { target: '#veth.failed', actions: { type: 'setError', params: { step: 'recovering' } } },
          },
        },
      },
    },
    rollingBack: undoStates('rollingBack') as never,
    tearingDown: undoStates('tearingDown') as never,
    /** Setup failed (rolled back) or the interface was lost; TEARDOWN cleans whatever is left. */
    failed: { on: { TEARDOWN: { target: 'tearingDown' } } },
    /** An undo step failed during teardown; TEARDOWN tries the whole chain again. */
    teardownFailed: { on: { TEARDOWN: { target: 'tearingDown' } } },
    restored: { type: 'final' },
  },
});

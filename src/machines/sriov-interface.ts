// SriovInterface: hands one SR-IOV VF to a VM through vfio-pci and gives it back.
// Decisions only; every effect is an actor supplied by provideSriov (src/actors).
//
// setup:    detecting → recording → configuringPf → unbinding → bindingVfio →
//           waitingVfioDevice → checkingVlan → ready
// teardown: unbindingVfio → clearingOverride → reprobing → waitingNetdev →
//           restoringNetns → restoringPf → restored
// A failed setup step runs the same undo steps (rollingBack) and ends in failed. An undo
// step that fails (teardown or rollback) ends in teardownFailed, where TEARDOWN runs the
// idempotent undo chain again: the VF may still be on vfio-pci, so nothing is final there.
import { and, assign, not, setup } from 'xstate';
import { notProvided as notProvidedIn, stepError } from './common.js';
import type { InterfacePlan } from '../model/plan.js';
import {
  ZERO_MAC,
  type DetectRequest,
  type NetdevHome,
  type PciRef,
  type SriovInput,
  type SriovResume,
  type SriovStepError,
  type VfConfig,
  type VfInfo,
  type VfRecord,
} from './sriov-contract.js';

export * from './sriov-contract.js';

export interface SriovContext {
  plan: InterfacePlan;
  sriovEnabled: boolean;
  resume: SriovResume | undefined;
  vf: VfInfo | undefined;
  record: VfRecord | undefined;
  vfioDevice: string | undefined;
  /** Completed steps in order; undo steps are prefixed "teardown:" or "rollback:". */
  done: string[];
  /** TEARDOWN arrived while a setup step ran: finish that step, then undo. */
  teardownRequested: boolean;
  error: SriovStepError | undefined;
  /** A failure while undoing (the VF may not be fully restored). */
  undoError: SriovStepError | undefined;
}

export type SriovEvent = { type: 'START' } | { type: 'TEARDOWN' };

/** Setup steps in order; "checkingVlan" in `done` means setup completed. */
export const SETUP_STEPS = [
  'detecting',
  'recording',
  'configuringPf',
  'unbinding',
  'bindingVfio',
  'waitingVfioDevice',
  'checkingVlan',
] as const;
export const UNDO_STEPS = ['unbindingVfio', 'clearingOverride', 'reprobing', 'waitingNetdev', 'restoringNetns', 'restoringPf'] as const;

const notProvided = <O, I>(name: string) => notProvidedIn<O, I>('sriov', name, 'use provideSriov');

const sameMac = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Where the VF netdev lived: host (visible in sysfs), the pod netns (CNI moved it), or none (DPDK/unbound). */
function netdevHome(plan: InterfacePlan, vf: VfInfo): NetdevHome | null {
  if (vf.driver === null || vf.driver === 'vfio-pci') return null;
  if (vf.hostNetdev) return { name: vf.hostNetdev, netns: null };
  return { name: plan.name, netns: plan.sandbox ?? null };
}

const pickTargetMac = (plan: InterfacePlan, pf: VfConfig): string => (plan.mac ?? pf.mac).toLowerCase();

const pci = (c: SriovContext): PciRef => ({ pciAddress: c.record!.vf.pciAddress });

type ErrorEvt = { error: unknown };
type DoneEvt<T> = { output: T };

export const sriovSetup = setup({
  types: {
    context: {} as SriovContext,
    events: {} as SriovEvent,
    input: {} as SriovInput,
  },
  actors: {
    detect: notProvided<VfInfo, DetectRequest>('detect'),
    readPf: notProvided<VfConfig, { pf: string; vfIndex: number }>('readPf'),
    setPf: notProvided<void, { pf: string; vfIndex: number; want: VfConfig }>('setPf'),
    unbindDriver: notProvided<void, PciRef>('unbindDriver'),
    bindVfio: notProvided<void, PciRef>('bindVfio'),
    waitVfioDevice: notProvided<string, PciRef & { iommuGroup: string }>('waitVfioDevice'),
    unbindVfio: notProvided<void, PciRef>('unbindVfio'),
    clearOverride: notProvided<void, PciRef>('clearOverride'),
    reprobe: notProvided<void, PciRef & { driver: string }>('reprobe'),
    waitNetdev: notProvided<void, PciRef & { netdev: NetdevHome }>('waitNetdev'),
    restoreNetns: notProvided<void, PciRef & { netdev: NetdevHome }>('restoreNetns'),
  },
  actions: {
    markDone: assign({ done: ({ context }, params: { step: string }) => [...context.done, params.step] }),
    requestTeardown: assign({ teardownRequested: true }),
    restoreResume: assign(({ context }) => ({
      done: [...(context.resume?.done ?? [])],
      record: context.resume?.record,
      vf: context.resume?.record?.vf,
      vfioDevice: context.resume?.vfioDevice,
    })),
    /** onError of step `params.step`: keep the cause (the event is that step's error event). */
    setError: assign({ error: ({ event }, params: { step: string }) => stepError(params.step, (event as unknown as ErrorEvt).error) }),
    setUndoError: assign({ undoError: ({ event }, params: { step: string }) => stepError(params.step, (event as unknown as ErrorEvt).error) }),
    clearUndoError: assign({ undoError: undefined }),
    failMacMismatch: assign({
      error: ({ context, event }) => {
        const seen = (event as unknown as DoneEvt<VfConfig>).output;
        const r = context.record!;
        return {
          code: 'MAC_MISMATCH',
          step: 'checkingVlan',
          message: `VF ${r.vf.pciAddress}: PF ${r.vf.pfNetdev} reports MAC ${seen.mac}, expected ${r.targetMac}; passthrough refused (fail closed)`,
        };
      },
    }),
    failVlanMismatch: assign({
      error: ({ context, event }) => {
        const seen = (event as unknown as DoneEvt<VfConfig>).output;
        const r = context.record!;
        return {
          code: 'VLAN_MISMATCH',
          step: 'checkingVlan',
          message:
            `VF ${r.vf.pciAddress}: PF ${r.vf.pfNetdev} reports VLAN ${seen.vlan} qos ${seen.qos}, ` +
            `expected VLAN ${r.pf.vlan} qos ${r.pf.qos}; passthrough refused (fail closed)`,
        };
      },
    }),
    failDisabled: assign({
      error: {
        code: 'SRIOV_DISABLED',
        step: 'detecting',
        message:
          'SR-IOV passthrough is disabled: this interface is an SR-IOV VF but the runtime option sriov.enabled is false; ' +
          'set sriov.enabled: true in the netlet runtime config (and make sure vfio-pci and the IOMMU are enabled on the node)',
      },
    }),
  },
  guards: {
    sriovDisabled: ({ context }) => !context.sriovEnabled,
    resumed: ({ context }) => context.resume !== undefined,
    resumedReady: ({ context }) => {
      const r = context.resume;
      return !!r?.record && r.done.includes('checkingVlan') && !r.done.some((s) => s.includes(':'));
    },
    hasRecord: ({ context }) => context.record !== undefined,
    teardownRequested: ({ context }) => context.teardownRequested,
    originalWasVfio: ({ context }) => (context.record?.vf ?? context.vf)?.driver === 'vfio-pci',
    originalHadDriver: ({ context }) => (context.record?.vf ?? context.vf)?.driver != null,
    /** checkingVlan's output vs the record. */
    macMismatch: ({ context, event }) => !sameMac((event as unknown as DoneEvt<VfConfig>).output.mac, context.record!.targetMac),
    vlanMismatch: ({ context, event }) => {
      const seen = (event as unknown as DoneEvt<VfConfig>).output;
      return seen.vlan !== context.record!.pf.vlan || seen.qos !== context.record!.pf.qos;
    },
  },
});

type UndoKind = 'tearingDown' | 'rollingBack';

/** Transitions into an undo path: a VF found on vfio-pci (DPDK) only needs its PF config restored. */
const undo = (kind: UndoKind) =>
  [
    { guard: 'originalWasVfio', target: `#sriov.${kind}.restoringPf` },
    { target: `#sriov.${kind}` },
  ] as const;

/** TEARDOWN in teardownFailed: the whole undo chain again (each step only changes what differs). */
const retryUndo = [
  { guard: 'originalWasVfio', target: '#sriov.tearingDown.restoringPf', actions: 'clearUndoError' },
  { target: '#sriov.tearingDown', actions: 'clearUndoError' },
] as const;

/** onDone candidates honouring a TEARDOWN that arrived mid-step; `vfio` when the VF may have been found on vfio-pci. */
const undoIfRequested = (step: string, vfio = true) =>
  [
    ...(vfio
      ? [{ guard: and(['teardownRequested', 'originalWasVfio']), target: '#sriov.tearingDown.restoringPf', actions: { type: 'markDone', params: { step } } } as const]
      : []),
    { guard: 'teardownRequested', target: '#sriov.tearingDown', actions: { type: 'markDone', params: { step } } },
  ] as const;

/** onError of a setup step after something may have changed: record the cause, roll back. */
const rollBack = (step: string, vfio = true) =>
  [
    ...(vfio ? [{ guard: 'originalWasVfio', target: '#sriov.rollingBack.restoringPf', actions: { type: 'setError', params: { step } } } as const] : []),
    { target: '#sriov.rollingBack', actions: { type: 'setError', params: { step } } },
  ] as const;

/** The undo path; `kind` decides the final state and the prefix in `done`. */
function undoStates(kind: UndoKind) {
  const end = kind === 'tearingDown' ? '#sriov.restored' : '#sriov.failed';
  const prefix = kind === 'tearingDown' ? 'teardown' : 'rollback';
  const mark = (s: string) => ({ type: 'markDone', params: { step: `${prefix}:${s}` } }) as const;
  // Rollback or teardown: the VF may be left half-way (e.g. on vfio-pci), so both wait for a retry.
  const onError = (s: string) => ({ target: '#sriov.teardownFailed', actions: { type: 'setUndoError', params: { step: `${prefix}:${s}` } } }) as const;
  return {
    initial: 'unbindingVfio',
    states: {
      unbindingVfio: {
        invoke: {
          id: `${prefix}.unbindingVfio`,
          src: 'unbindVfio',
          input: ({ context }: { context: SriovContext }) => pci(context),
          onDone: { target: 'clearingOverride', actions: mark('unbindingVfio') },
          onError: onError('unbindingVfio'),
        },
      },
      clearingOverride: {
        invoke: {
          id: `${prefix}.clearingOverride`,
          src: 'clearOverride',
          input: ({ context }: { context: SriovContext }) => pci(context),
          onDone: [
            { guard: 'originalHadDriver', target: 'reprobing', actions: mark('clearingOverride') },
            { target: 'restoringPf', actions: mark('clearingOverride') },
          ],
          onError: onError('clearingOverride'),
        },
      },
      reprobing: {
        invoke: {
          id: `${prefix}.reprobing`,
          src: 'reprobe',
          input: ({ context }: { context: SriovContext }) => ({ ...pci(context), driver: context.record!.vf.driver! }),
          // Only VFs that had a netdev get here (a driver other than vfio-pci).
          onDone: { target: 'waitingNetdev', actions: mark('reprobing') },
          onError: onError('reprobing'),
        },
      },
      waitingNetdev: {
        invoke: {
          id: `${prefix}.waitingNetdev`,
          src: 'waitNetdev',
          input: ({ context }: { context: SriovContext }) => ({ ...pci(context), netdev: context.record!.netdev! }),
          onDone: { target: 'restoringNetns', actions: mark('waitingNetdev') },
          onError: onError('waitingNetdev'),
        },
      },
      restoringNetns: {
        invoke: {
          id: `${prefix}.restoringNetns`,
          src: 'restoreNetns',
          input: ({ context }: { context: SriovContext }) => ({ ...pci(context), netdev: context.record!.netdev! }),
          onDone: { target: 'restoringPf', actions: mark('restoringNetns') },
          onError: onError('restoringNetns'),
        },
      },
      restoringPf: {
        invoke: {
          id: `${prefix}.restoringPf`,
          src: 'setPf',
          input: ({ context }: { context: SriovContext }) => ({
            pf: context.record!.vf.pfNetdev,
            vfIndex: context.record!.vf.vfIndex,
            want: context.record!.pf,
          }),
          onDone: { target: end, actions: mark('restoringPf') },
          onError: onError('restoringPf'),
        },
      },
    },
  } as const;
}

export const sriovInterfaceMachine = sriovSetup.createMachine({
  id: 'sriov',
  context: ({ input }) => ({
    plan: input.plan,
    sriovEnabled: input.options.sriovEnabled,
    resume: input.resume,
    vf: undefined,
    record: undefined,
    vfioDevice: undefined,
    done: [],
    teardownRequested: false,
    error: undefined,
    undoError: undefined,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        START: [
          { guard: 'resumedReady', target: 'ready', actions: 'restoreResume' },
          { guard: 'resumed', target: 'interrupted', actions: 'restoreResume' },
          { guard: 'sriovDisabled', target: 'failed', actions: 'failDisabled' },
          { target: 'detecting' },
        ],
        TEARDOWN: { target: 'restored' },
      },
    },
    /** Resumed from a persisted partial setup (or a crash mid-teardown): only teardown is allowed. */
    interrupted: {
      on: {
        TEARDOWN: [{ guard: not('hasRecord'), target: 'restored' }, ...undo('tearingDown')],
      },
    },
    detecting: {
      on: { TEARDOWN: { actions: 'requestTeardown' } },
      invoke: {
        id: 'detecting',
        src: 'detect',
        input: ({ context }) =>
          context.plan.pciID ? { pciAddress: context.plan.pciID.toLowerCase() } : { netdev: context.plan.name },
        onDone: [
          // Nothing changed yet: a requested teardown has nothing to undo.
          {
            guard: 'teardownRequested',
            target: 'restored',
            actions: [assign({ vf: ({ event }) => event.output }), { type: 'markDone', params: { step: 'detecting' } }],
          },
          {
            target: 'recording',
            actions: [assign({ vf: ({ event }) => event.output }), { type: 'markDone', params: { step: 'detecting' } }],
          },
        ],
        onError: { target: 'failed', actions: assign({ error: ({ event }) => stepError('detecting', event.error) }) },
      },
    },
    recording: {
      on: { TEARDOWN: { actions: 'requestTeardown' } },
      invoke: {
        id: 'recording',
        src: 'readPf',
        input: ({ context }) => ({ pf: context.vf!.pfNetdev, vfIndex: context.vf!.vfIndex }),
        onDone: [
          {
            guard: ({ context, event }) => pickTargetMac(context.plan, event.output) === ZERO_MAC,
            target: 'failed',
            actions: assign({
              error: ({ context }) => ({
                code: 'MAC_UNKNOWN',
                step: 'recording',
                message: `VF ${context.vf!.pciAddress}: the plan has no MAC and the VF has no admin MAC on ${context.vf!.pfNetdev}; the VM would get a random one`,
              }),
            }),
          },
          {
            guard: 'teardownRequested',
            target: 'restored',
            actions: { type: 'markDone', params: { step: 'recording' } },
          },
          {
            target: 'configuringPf',
            actions: [
              assign({
                record: ({ context, event }) => ({
                  vf: context.vf!,
                  pf: { ...event.output, mac: event.output.mac.toLowerCase() },
                  netdev: netdevHome(context.plan, context.vf!),
                  targetMac: pickTargetMac(context.plan, event.output),
                }),
              }),
              { type: 'markDone', params: { step: 'recording' } },
            ],
          },
        ],
        onError: { target: 'failed', actions: assign({ error: ({ event }) => stepError('recording', event.error) }) },
      },
    },
    configuringPf: {
      on: { TEARDOWN: { actions: 'requestTeardown' } },
      invoke: {
        id: 'configuringPf',
        src: 'setPf',
        input: ({ context }) => {
          const r = context.record!;
          return { pf: r.vf.pfNetdev, vfIndex: r.vf.vfIndex, want: { mac: r.targetMac, vlan: r.pf.vlan, qos: r.pf.qos } };
        },
        onDone: [
          ...undoIfRequested('configuringPf'),
          // Already on vfio-pci (DPDK mode): no unbind/bind, but still verify the device and the PF.
          { guard: 'originalWasVfio', target: 'waitingVfioDevice', actions: { type: 'markDone', params: { step: 'configuringPf' } } },
          { guard: 'originalHadDriver', target: 'unbinding', actions: { type: 'markDone', params: { step: 'configuringPf' } } },
          { target: 'bindingVfio', actions: { type: 'markDone', params: { step: 'configuringPf' } } },
        ],
        onError: rollBack('configuringPf'),
      },
    },
    unbinding: {
      on: { TEARDOWN: { actions: 'requestTeardown' } },
      invoke: {
        id: 'unbinding',
        src: 'unbindDriver',
        input: ({ context }) => pci(context),
        onDone: [...undoIfRequested('unbinding', false), { target: 'bindingVfio', actions: { type: 'markDone', params: { step: 'unbinding' } } }],
        onError: rollBack('unbinding', false),
      },
    },
    bindingVfio: {
      on: { TEARDOWN: { actions: 'requestTeardown' } },
      invoke: {
        id: 'bindingVfio',
        src: 'bindVfio',
        input: ({ context }) => pci(context),
        onDone: [
          ...undoIfRequested('bindingVfio', false),
          { target: 'waitingVfioDevice', actions: { type: 'markDone', params: { step: 'bindingVfio' } } },
        ],
        onError: rollBack('bindingVfio', false),
      },
    },
    waitingVfioDevice: {
      on: { TEARDOWN: { actions: 'requestTeardown' } },
      invoke: {
        id: 'waitingVfioDevice',
        src: 'waitVfioDevice',
        input: ({ context }) => ({ ...pci(context), iommuGroup: context.record!.vf.iommuGroup }),
        onDone: [
          ...undoIfRequested('waitingVfioDevice'),
          {
            target: 'checkingVlan',
            actions: [assign({ vfioDevice: ({ event }) => event.output }), { type: 'markDone', params: { step: 'waitingVfioDevice' } }],
          },
        ],
        onError: rollBack('waitingVfioDevice'),
      },
    },
    /** Some PF drivers reset VF config on rebind: what the PF enforces now must match the record, else fail closed. */
    checkingVlan: {
      on: { TEARDOWN: { actions: 'requestTeardown' } },
      invoke: {
        id: 'checkingVlan',
        src: 'readPf',
        input: ({ context }) => ({ pf: context.record!.vf.pfNetdev, vfIndex: context.record!.vf.vfIndex }),
        onDone: [
          // Fail closed: any difference means the VM would not get the network the pod asked for.
          { guard: and(['macMismatch', 'originalWasVfio']), target: '#sriov.rollingBack.restoringPf', actions: 'failMacMismatch' },
          { guard: 'macMismatch', target: '#sriov.rollingBack', actions: 'failMacMismatch' },
          { guard: and(['vlanMismatch', 'originalWasVfio']), target: '#sriov.rollingBack.restoringPf', actions: 'failVlanMismatch' },
          { guard: 'vlanMismatch', target: '#sriov.rollingBack', actions: 'failVlanMismatch' },
          ...undoIfRequested('checkingVlan'),
          { target: 'ready', actions: { type: 'markDone', params: { step: 'checkingVlan' } } },
        ],
        onError: rollBack('checkingVlan'),
      },
    },
    ready: {
      on: { TEARDOWN: undo('tearingDown') },
    },
    tearingDown: undoStates('tearingDown'),
    rollingBack: undoStates('rollingBack'),
    restored: { type: 'final' },
    /** Setup failed and nothing is left to undo (rolled back, or failed before any change). */
    failed: { type: 'final' },
    /** An undo step failed (teardown or rollback): the record stays; TEARDOWN retries. */
    teardownFailed: { on: { TEARDOWN: retryUndo } },
  },
});

export type SriovInterfaceMachine = typeof sriovInterfaceMachine;

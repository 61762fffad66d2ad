// The pod supervisor and its interface machines, provided once per process. Providing a
// machine rebuilds its whole state tree: per pod that was ~80 state nodes with their
// closures, ~150 KiB of heap (measured with heap snapshots, docs/performance.md). Each
// pod's effects are found through the actor system its supervisor runs in instead.
import { fromPromise, type ActorSystem } from 'xstate';
import { podSupervisorMachine, type AttachRequest, type ChildSpec, type ResolvedPod } from '../machines/pod-supervisor.js';
import type { InterfacePlan } from '../model/plan.js';
import { vethInterfaceMachine } from '../machines/veth-interface.js';
import { sriovInterfaceMachine } from '../machines/sriov-interface.js';
import { VETH_IO_METHODS, type VethIo } from '../machines/veth-contract.js';
import { SRIOV_IO_METHODS, type SriovIo } from '../machines/sriov-contract.js';
import { promiseActorsVia } from './promise-actors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- xstate's own AnyActorSystem is ActorSystem<any>, not exported
type System = ActorSystem<any>;

/** What one pod's machines do: its Pod provides them. */
export interface PodEffects {
  resolvePlan(): Promise<ResolvedPod>;
  persistNow(): void;
  releaseCni(resolved: ResolvedPod | undefined): Promise<void>;
  forget(): void;
  resolveAttach(request: AttachRequest): Promise<{ iface: InterfacePlan; child: ChildSpec }>;
  releaseAttach(r: { ifName: string; network?: string; cniAdded: boolean }): Promise<void>;
  vethIo: VethIo;
  sriovIo: SriovIo;
}

const pods = new WeakMap<System, PodEffects>();

/** Binds a supervisor actor's system (before it starts) to its pod's effects. */
export const bindPod = (system: System, effects: PodEffects): void => void pods.set(system, effects);

function effectsOf(system: System): PodEffects {
  const e = pods.get(system);
  if (!e) throw new Error('netlet: a pod machine runs in an actor system bound to no pod (bindPod before start)');
  return e;
}

function provide() {
  return podSupervisorMachine.provide({
    actors: {
      resolvePlan: fromPromise(({ system }) => effectsOf(system).resolvePlan()),
      persist: fromPromise(async ({ system }) => effectsOf(system).persistNow()),
      releaseCni: fromPromise(({ input, system }) => effectsOf(system).releaseCni(input.resolved)),
      forget: fromPromise(async ({ system }) => effectsOf(system).forget()),
      resolveAttach: fromPromise(({ input, system }) => effectsOf(system).resolveAttach(input.request)),
      releaseAttach: fromPromise(({ input, system }) => effectsOf(system).releaseAttach(input)),
      vethInterface: vethInterfaceMachine.provide({ actors: promiseActorsVia<VethIo>(VETH_IO_METHODS, (s) => effectsOf(s).vethIo) }),
      sriovInterface: sriovInterfaceMachine.provide({ actors: promiseActorsVia<SriovIo>(SRIOV_IO_METHODS, (s) => effectsOf(s).sriovIo) }),
    },
  });
}

let logic: ReturnType<typeof provide> | undefined;

/** The provided supervisor logic, made on first use. */
export const podLogic = (): ReturnType<typeof provide> => (logic ??= provide());

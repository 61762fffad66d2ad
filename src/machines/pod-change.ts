// One interface added to or removed from a ready pod (hot-plug): what the supervisor
// records while it runs, so that a restart finishes it (a detach) or undoes it (an attach).
import type { InterfacePlan } from '../model/plan.js';
import type { StepError } from './common.js';

/** What attachInterface asks for (validated by the actors layer). */
export interface AttachRequest {
  ifName: string;
  /** A network from cni.confDir: netlet runs CNI ADD (and DEL on detach). */
  network?: string;
  /** Or the caller's raw CNI result for this one interface. */
  cniResult?: unknown;
  /** Multus `default-route`: gateways this network's default route goes through; marks it the owner. */
  defaultRoute?: string[];
}

/** An interface machine to spawn, as the pod records it (see ChildSpec in pod-supervisor). */
export interface ChangeChild {
  id: string;
  kind: 'veth' | 'sriov';
  input: unknown;
  /** When it joined a ready pod (hot-plug); absent for the pod's setup interfaces. */
  attachedAt?: string;
  /** netlet ran CNI ADD for this interface alone (the pod's own setup did not): DEL it on detach. */
  cniAdded?: boolean;
}

/** An attach or detach in progress (recorded before its first effect). */
export interface PendingChange {
  op: 'attach' | 'detach';
  ifName: string;
  /** attach: the network netlet runs (or ran) CNI ADD for; a restart DELs it. */
  network?: string;
  /** attach, once resolved: the new interface and its machine. */
  iface?: InterfacePlan;
  child?: ChangeChild;
}

/** How the last attach or detach ended (status shows it; the phase is back to ready). */
export interface ChangeOutcome {
  op: 'attach' | 'detach';
  ifName: string;
  /** done; rolledBack (an attach undone, the rest served on); incomplete (an undo or a DEL failed: retry detach). */
  outcome: 'done' | 'rolledBack' | 'incomplete';
  error?: StepError;
}

// One pod sandbox at run time: the PodSupervisor machine wired to real io, its durable
// record, its status and its recent events. The Runtime owns the Pods.
import { existsSync } from 'node:fs';
import { createActor, waitFor, type Actor, type AnyActorRef } from 'xstate';
import type { Logger } from 'pino';
import { addNetworks, applyDefaultRoutePolicy, delNetworks, mergeDns, normaliseCniResult } from '../cni/index.js';
import { renderCloudInit } from '../cloudinit/index.js';
import { NetletError } from '../model/errors.js';
import { bridgeAddressFor, bridgeMacFor, interfaceNames, podLinkGroup } from '../model/names.js';
import type { Dns, InterfacePlan, PodNetworkPlan } from '../model/plan.js';
import { podPhase, podSupervisorMachine, type AttachRequest, type ChildSpec, type PodContext, type ResolvedPod } from '../machines/pod-supervisor.js';
import type { VethInput, VethIo, VethSettings } from '../machines/veth-contract.js';
import { SRIOV_IO_METHODS, type SriovInput, type SriovIo } from '../machines/sriov-contract.js';
import { stateName } from '../machines/common.js';
import type { DhcpPool } from '../io/dhcp-pool.js';
import { Rtnl, type LinkInfo } from '../io/rtnl.js';
import { NetnsHandle } from '../io/netns.js';
import { closeAsync, openTapFds, unplumbPod, vethKernelIo } from '../io/veth.js';
import { readSpoofCounters, readSpoofCountersAsync } from '../io/nft.js';
import type { SpoofCounters } from '../io/nft-rules.js';
import { SPOOF_LOG_EVERY_MS, SPOOF_READ_EVERY_TICKS, SpoofLogLimiter } from './spoof-log.js';
import { dumpRoutes, type RouteDump } from '../io/routes.js';
import { routeOrder } from '../model/kernel-route.js';
import type { StateStore } from '../io/state-store.js';
import { bindPod, podLogic } from './pod-logic.js';
import { servePartsFor } from './serve-request.js';
import { readForwarding } from '../io/ipv6-route.js';
import { cniExecOptions, type ResolvedOptions } from './options.js';
import { interfaceKind } from './interface-kind.js';
import { releaseAttachment, resolveAttachment, type AttachEnv } from './pod-attach.js';
import { delAttachment } from '../cni/index.js';
import type { PodInterface, PodNetwork, PodStatus, InterfaceStatus, PodEventRecord } from './types.js';

export interface PodRequest {
  podId: string;
  podName?: string;
  podNamespace?: string;
  netnsPath: string;
  annotations?: Record<string, string>;
  cniResult?: unknown;
  hostname?: string;
  dns?: { nameservers: string[]; search?: string[]; options?: string[] };
}

/** What the state dir holds for a pod. */
export interface PodRecord {
  version: 1;
  podId: string;
  request: Omit<PodRequest, 'cniResult'>;
  phase: string;
  resolved?: ResolvedPod;
  interfaces: Record<string, { done: string[]; record?: unknown; vfioDevice?: string }>;
  updatedAt: string;
}

export interface PodDeps {
  opts: ResolvedOptions;
  store: StateStore;
  pool: DhcpPool;
  sriovIo: () => SriovIo;
  log: Logger;
}

const MAX_EVENTS = 200;

export class Pod {
  readonly podId: string;
  readonly log: Logger;
  private rt: Rtnl | undefined;
  private readonly actor: Actor<typeof podSupervisorMachine>;
  private readonly events: PodEventRecord[] = [];
  private readonly spoofLog: SpoofLogLimiter;
  private lastStates = new Map<string, string>();
  private lastPhase = '';
  private lastErrors = new Map<string, { code: string; message: string; at: string }>();
  /** The record's parts last written (without its timestamp). */
  private written: { of: ResolvedPod; contexts: unknown[]; lasting: string; phase: string; ifaces: string } | undefined;
  /** The part of the record that outlives a reboot, as last fsync'd. */
  private synced: string | undefined;
  /** That part serialised (the record's request and resolved members), for the plan object it was made from. */
  private lasting: { of: ResolvedPod; text: string } | undefined;
  /** Per TAP, the fds plumb opened when it made it: the next network() hands them out. */
  private readonly tapFds = new Map<string, number[]>();
  /** stop() was called: nothing opens a netns socket again. */
  private stopped = false;
  /** The pod-wide deletion of this teardown or rollback, shared by its interfaces' unplumbs. */
  private podUnplumb: Promise<boolean> | undefined;
  /** The pod netns's link events, from the monitor's first tick after ready until teardown. */
  private linkWatch: { close(): void } | undefined;
  private watchFailed = false;
  /** The dumps resolve took, for the first capture (until then nothing touches the netns). */
  private resolvedDump: { links: LinkInfo[]; routes: RouteDump } | undefined;

  constructor(private readonly deps: PodDeps, readonly request: PodRequest, resume?: PodRecord) {
    this.podId = request.podId;
    this.log = deps.log.child({ podId: this.podId });
    this.spoofLog = new SpoofLogLimiter(SPOOF_LOG_EVERY_MS, SPOOF_READ_EVERY_TICKS * deps.opts.monitorIntervalMs);
    const resolved = resume?.resolved ? this.withResume(resume.resolved, resume) : undefined;
    this.actor = createActor(podLogic(), { input: { podId: this.podId, ...(resolved ? { resume: resolved } : {}) } });
    bindPod(this.actor.system, {
      resolvePlan: () => this.resolvePlan(),
      persistNow: () => this.persistNow(),
      releaseCni: (r) => this.releaseCni(r),
      forget: () => this.forget(),
      resolveAttach: (req) => resolveAttachment(this.attachEnv(), req, (i) => bridgeAddressFor(i)),
      releaseAttach: (r) => releaseAttachment(this.attachEnv(), r),
      vethIo: this.vethIo(),
      sriovIo: this.sriovIo(),
    });
    this.actor.subscribe({ next: () => this.observe(), error: (e) => this.log.error({ err: e }, 'pod supervisor crashed') });
    this.actor.start();
  }

  get phase(): string {
    const s = this.actor.getSnapshot();
    return podPhase(s.value, s.context);
  }

  get context(): PodContext {
    return this.actor.getSnapshot().context;
  }

  get plan(): PodNetworkPlan | undefined {
    return this.context.resolved?.plan;
  }

  /**
   * Runs setup (or adoption) to ready; rejects with the cause after a rollback. After an
   * incomplete rollback (phase rollbackFailed) the pod and its record stay for teardownPod.
   */
  async setup(): Promise<void> {
    this.podUnplumb = undefined;
    this.actor.send({ type: 'SETUP' });
    const s = await waitFor(this.actor, (x) => ['ready', 'failed', 'gone', 'rollbackFailed'].includes(topState(x.value)), { timeout: Infinity });
    // At rest: no journal fd held for the pod's lifetime, no dump kept (an SR-IOV pod's is not taken).
    this.deps.store.release(this.podId);
    this.resolvedDump = undefined;
    if (s.value === 'ready') return;
    const e = s.context.error ?? { code: 'SETUP_FAILED', message: 'setup failed', step: '?' };
    if (s.value === 'rollbackFailed') {
      // lastErrors holds one error per interface (the undo error replaced the cause): read both.
      const kids = Object.entries(this.childContexts());
      const causes = kids.filter(([, c]) => c.context.error).map(([k, c]) => `${k}: ${c.context.error!.message}`);
      const undo = kids
        .filter(([k, c]) => s.context.phases[k] === 'teardownFailed' && c.context.undoError)
        .map(([k, c]) => `undo of ${k} failed at ${c.context.undoError!.step}: ${c.context.undoError!.message}`);
      throw new NetletError(
        e.code,
        `pod ${this.podId}: ${e.message} (${[...causes, ...undo].join('; ')}); the node still holds state for this pod ` +
          'and its record is kept: call teardownPod to retry (a runtime restart retries too)',
        { step: e.step, rollbackIncomplete: true },
      );
    }
    const failed = [...this.lastErrors.entries()].map(([k, v]) => `${k}: ${v.message}`);
    throw new NetletError(e.code, `pod ${this.podId}: ${e.message}${failed.length ? ` (${failed.join('; ')})` : ''}`, { step: e.step });
  }

  /** Tears down to gone; rejects if an interface could not be restored (TEARDOWN retries). */
  async teardown(): Promise<void> {
    // A retry after an incomplete teardown looks at the links again.
    this.podUnplumb = undefined;
    // Its own deletions are no news to the monitor.
    this.unwatchLinks();
    this.actor.send({ type: 'TEARDOWN' });
    const s = await waitFor(this.actor, (x) => ['gone', 'failed', 'teardownFailed'].includes(topState(x.value)), { timeout: Infinity });
    if (s.value === 'teardownFailed') {
      const errs = [...this.lastErrors.entries()].map(([k, v]) => `${k}: ${v.message}`).join('; ');
      throw new NetletError('TEARDOWN_FAILED', `pod ${this.podId}: teardown incomplete: ${errs || s.context.error?.message}; call teardownPod again`);
    }
    this.rt?.close();
    this.rt = undefined;
  }

  /**
   * Adds one interface to the ready pod (hot-plug); resolves once DHCP serves it. A failure
   * undoes that interface alone (the pod stays ready) and rejects with the cause.
   */
  async attach(req: AttachRequest): Promise<PodInterface> {
    this.mustBeReady('attach an interface to');
    if (this.context.resolved!.children.some((c) => c.id === req.ifName)) {
      throw new NetletError('IFNAME_IN_USE', `pod ${this.podId} already has an interface ${req.ifName}; detach it first or pick another ifName`, { ifName: req.ifName });
    }
    const s = await this.change({ type: 'ATTACH', request: req });
    const out = s.context.lastChange;
    if (out?.op === 'attach' && out.ifName === req.ifName && out.outcome === 'done') return this.network([req.ifName]).interfaces[0]!;
    const why = out?.error ? `${out.error.message}` : 'unknown cause';
    const what = out?.outcome === 'incomplete' ? 'its undo is incomplete (the interface stays in the pod; detach it to retry)' : 'it was rolled back, the pod\'s other interfaces are untouched';
    throw new NetletError(out?.error?.code ?? 'ATTACH_FAILED', `pod ${this.podId}: attach of ${req.ifName} failed: ${why}; ${what}`, { ifName: req.ifName, outcome: out?.outcome });
  }

  /** Removes one interface (hot-unplug). Idempotent: an interface the pod does not have resolves. */
  async detach(ifName: string): Promise<void> {
    if (!this.context.resolved?.children.some((c) => c.id === ifName)) return;
    this.mustBeReady('detach an interface from');
    const s = await this.change({ type: 'DETACH', ifName });
    const out = s.context.lastChange;
    if (out?.op === 'detach' && out.outcome === 'done') return;
    throw new NetletError(out?.error?.code ?? 'DETACH_FAILED', `pod ${this.podId}: detach of ${ifName} is incomplete: ${out?.error?.message ?? 'unknown cause'}; call detachInterface again`, { ifName });
  }

  private mustBeReady(what: string): void {
    const phase = this.phase;
    if (phase !== 'ready' && phase !== 'degraded') throw new NetletError('POD_NOT_READY', `cannot ${what} pod ${this.podId}: it is ${phase}, not ready`, { phase });
  }

  /** Sends ATTACH/DETACH and waits until the pod is back at rest. */
  private async change(e: { type: 'ATTACH'; request: AttachRequest } | { type: 'DETACH'; ifName: string }) {
    this.actor.send(e);
    return waitFor(this.actor, (x) => topState(x.value) !== 'attaching' && topState(x.value) !== 'detaching', { timeout: Infinity });
  }

  private attachEnv(): AttachEnv {
    const r = this.request;
    return {
      podId: this.podId, netnsPath: r.netnsPath, opts: this.deps.opts, log: this.log, rtnl: () => this.rtnl(), resolved: this.context.resolved!,
      ...(r.podName ? { podName: r.podName } : {}), ...(r.podNamespace ? { podNamespace: r.podNamespace } : {}),
      childFor: (iface, kind, index) => (kind === 'veth' ? this.vethChild(iface, index) : this.sriovChild(iface)),
    };
  }

  /** Stops the actors without touching the kernel (runtime close; the next start adopts); resolves once the kept TAP fds are closed. */
  stop(): Promise<void> {
    this.stopped = true;
    this.unwatchLinks();
    this.actor.stop();
    const closing = Promise.all([...this.tapFds.keys()].map((tap) => this.dropTapFds(tap)));
    this.rt?.close();
    this.rt = undefined;
    return closing.then(() => undefined);
  }

  get done(): boolean {
    return this.actor.getSnapshot().status === 'done';
  }

  /** Sends an event to one interface machine (supervision). */
  notify(iface: string, event: { type: 'DHCP_LOST'; reason?: string } | { type: 'LINK_LOST'; link: string } | { type: 'VETH_LOST' }): void {
    (this.actor.getSnapshot().children as Record<string, AnyActorRef | undefined>)[iface]?.send(event);
  }

  // ---- effects ----

  /**
   * The pod tears down or rolls back all its interfaces (not one detached or a failed attach),
   * and none of them is still in a setup step: from here on no link of the pod is made again.
   */
  private wholePodUndone(): boolean {
    const top = topState(this.actor.getSnapshot().value);
    if (top !== 'tearingDown' && top !== 'rollingBack') return false;
    const kids = this.childContexts();
    return this.vethChildren().every((ch) => !kids[ch.id] || UNDOING.has(topState(kids[ch.id]!.value)));
  }

  /** The pod's veth interfaces, one being attached included. */
  private vethChildren(): ChildSpec[] {
    const c = this.context.resolved;
    return [...(c?.children ?? []), ...(c?.change?.child ? [c.change.child] : [])].filter((ch) => ch.kind === 'veth');
  }

  /** Deletes the links of all the pod's veth interfaces in one request (io/veth.ts unplumbPod). */
  private async unplumbAll(): Promise<boolean> {
    const sets = this.vethChildren().map((ch) => (ch.input as VethInput).settings);
    // The closes (a grace period each) beside the deletion, both done before the step is.
    const [, whole] = await Promise.all([Promise.all(sets.map((s) => this.dropTapFds(s.tap))), unplumbPod(this.rtnl(), sets)]);
    return whole;
  }

  private takeResolvedDump(): { links: LinkInfo[]; routes: RouteDump } | undefined {
    const d = this.resolvedDump;
    this.resolvedDump = undefined;
    return d;
  }

  private keepTapFds(tap: string, fds: number[]): void {
    // Fds kept from before (a TAP made again, recovery): their closes need no waiting for.
    void this.dropTapFds(tap);
    this.tapFds.set(tap, fds);
  }

  /**
   * Closes kept fds nobody took (their TAP goes, or is made again), off the event loop (a
   * TAP's last close waits for a grace period); resolves once they are closed.
   */
  private dropTapFds(tap: string): Promise<void> {
    const fds = this.tapFds.get(tap) ?? [];
    this.tapFds.delete(tap);
    return Promise.all(fds.map(closeAsync)).then(() => undefined);
  }

  private netnsGone(): boolean {
    return !existsSync(this.request.netnsPath);
  }

  private rtnl(): Rtnl {
    // Stopped (runtime close): work still in flight must not open a socket nobody closes.
    if (this.stopped) throw new NetletError('RUNTIME_CLOSED', `pod ${this.podId}: the runtime is closed`);
    this.rt ??= Rtnl.open(this.request.netnsPath);
    return this.rt;
  }

  private async resolvePlan(): Promise<ResolvedPod> {
    try {
      return await this.resolve();
    } catch (e) {
      // Nothing was set up (resolve released what CNI added): no record stays behind.
      this.forget();
      throw e;
    }
  }

  private async resolve(): Promise<ResolvedPod> {
    const { opts } = this.deps;
    const r = this.request;
    const rt = this.rtnl();
    let interfaces: InterfacePlan[];
    let dns: Dns;
    let cniAdded = false;
    if (r.cniResult !== undefined) {
      // One result, or one per network (eth0, eth1, ...): one default route kept, as with CNI ADD.
      const results = Array.isArray(r.cniResult) ? (r.cniResult as unknown[]) : [r.cniResult];
      const ns = results.map((res, i) => normaliseCniResult(res, { network: `cni${i}`, ifName: `eth${i}` }));
      const policy = applyDefaultRoutePolicy(ns.map((n, i) => ({ network: `cni${i}`, ifName: `eth${i}`, interfaces: n.interfaces })));
      for (const d of policy.dropped) this.log.info({ ...d }, 'default route dropped by the one-default-route policy');
      interfaces = policy.interfaces.flat();
      dns = mergeDns(ns.map((n) => n.dns));
    } else {
      if (!opts.cni.confDir) {
        throw new NetletError('CNI_NOT_CONFIGURED', `pod ${r.podId}: no cniResult given and no cni.confDir configured; pass one or the other`);
      }
      // Recorded before ADD: a crash during ADD leaves a record without a plan, and the
      // next start runs CNI DEL for whatever the cache holds of this pod.
      const { cniResult: _omit, ...request } = r;
      this.deps.store.write(this.podId, { version: 1, podId: this.podId, request, phase: 'resolving', interfaces: {}, updatedAt: new Date().toISOString() } satisfies PodRecord);
      const added = await addNetworks({
        podId: r.podId, podName: r.podName ?? '', podNamespace: r.podNamespace ?? '', netnsPath: r.netnsPath,
        ...(r.annotations ? { annotations: r.annotations } : {}), confDir: opts.cni.confDir, ...this.cniExec(),
        ...(opts.cni.defaultNetworks ? { defaultNetworks: opts.cni.defaultNetworks } : {}),
      });
      for (const d of added.dropped) this.log.info({ ...d }, 'default route dropped by the one-default-route policy');
      interfaces = added.interfaces;
      dns = added.dns;
      cniAdded = true;
    }
    try {
      const children: ChildSpec[] = [];
      const links = await rt.links();
      for (const [i, iface] of interfaces.entries()) {
        const kind = await interfaceKind(rt, iface, opts.sysfsRoot, links);
        children.push(kind === 'veth' ? this.vethChild(iface, i) : this.sriovChild(iface));
      }
      const podDns: Dns = r.dns ? { nameservers: r.dns.nameservers, search: r.dns.search ?? [], options: r.dns.options ?? [] } : dns;
      const plan: PodNetworkPlan = { podId: r.podId, interfaces, dns: podDns, ...(r.hostname ? { hostname: r.hostname } : {}) };
      // Before any interface is touched: each restore puts its routes back in this order.
      const routes = await dumpRoutes(rt, links);
      const order = routeOrder(routes.routes);
      this.resolvedDump = { links, routes };
      return { plan, children, cniAdded, ...(Object.keys(order).length ? { routeOrder: order } : {}), forwarding6: readForwarding(rt.netns.fd) };
    } catch (e) {
      if (cniAdded) await this.releaseCni({ plan: { podId: r.podId, interfaces, dns }, children: [], cniAdded }).catch(() => undefined);
      throw e;
    }
  }

  private vethChild(iface: InterfacePlan, index: number): ChildSpec {
    const v4 = iface.ips.find((ip) => ip.family === 4);
    const settings: VethSettings = {
      // Every CNI address: the sources anti-spoofing lets through from the VM.
      vmAddresses: iface.ips.map((ip) => ip.address),
      ...interfaceNames(iface.name),
      // The pod's group, not the interface's: the pod's teardown deletes all its links at once.
      linkGroup: podLinkGroup(this.podId),
      bridgeAddress: bridgeAddressFor(index),
      bridgeMac: bridgeMacFor(this.podId, iface.name),
      vmMac: iface.mac!,
      ...(v4 ? { vmAddress: v4.address } : {}),
      queues: this.deps.opts.tap.queues,
    };
    const input: VethInput = { ifName: iface.name, settings };
    return { id: iface.name, kind: 'veth', input };
  }

  private sriovChild(iface: InterfacePlan): ChildSpec {
    const input: SriovInput = { plan: iface, options: { sriovEnabled: this.deps.opts.sriov.enabled } };
    return { id: iface.name, kind: 'sriov', input };
  }

  /** Child inputs with what the record says each had done (adoption after a restart). */
  private withResume(resolved: ResolvedPod, rec: PodRecord): ResolvedPod {
    const resumed = <C extends ChildSpec>(c: C): C => {
      const r = rec.interfaces[c.id];
      return { ...c, input: { ...(c.input as object), resume: { done: r?.done ?? [], ...(r?.record ? { record: r.record } : {}), ...(r?.vfioDevice ? { vfioDevice: r.vfioDevice } : {}) } } };
    };
    const ch = resolved.change;
    return {
      ...resolved,
      children: resolved.children.map(resumed),
      ...(ch ? { change: { ...ch, ...(ch.child ? { child: resumed(ch.child) } : {}) } } : {}),
    };
  }

  private cniExec() {
    return { ...cniExecOptions(this.deps.opts), logger: this.log };
  }

  private async releaseCni(resolved: ResolvedPod | undefined): Promise<void> {
    if (!resolved) return;
    if (resolved.cniAdded) {
      await delNetworks({ podId: this.podId, netnsPath: this.request.netnsPath, ...this.cniExec() });
      return;
    }
    // A pod set up from a given result: only what netlet attached itself is DELed.
    const own = [
      ...resolved.children.filter((c) => c.cniAdded).map((c) => ({ ifName: c.id })),
      ...(resolved.change?.op === 'attach' && resolved.change.network ? [{ ifName: resolved.change.ifName, network: resolved.change.network }] : []),
    ];
    for (const o of own) await delAttachment({ podId: this.podId, netnsPath: this.request.netnsPath, ...o, ...this.cniExec() });
  }

  private forget(): void {
    this.deps.store.remove(this.podId);
    this.written = undefined;
    this.synced = undefined;
  }

  private dhcpKey(ifName: string): string {
    return `${this.podId}/${ifName}`;
  }

  /** Journals before every effect: the record on disk always covers what the kernel may hold. */
  private journaled<T extends object>(io: T): T {
    const out: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(io)) {
      out[k] = async (input: unknown) => {
        this.persistNow();
        return (f as (i: unknown) => Promise<unknown>)(input);
      };
    }
    return out as T;
  }

  private vethIo(): VethIo {
    // An attached interface's routes were not there when the pod's order was taken: its
    // capture takes the netns's order now (no baseline).
    const kernel = (baseline = true): ReturnType<typeof vethKernelIo> =>
      vethKernelIo(this.rtnl(), {
        vnetHdr: this.deps.opts.tap.vnetHdr, antiSpoofing: this.deps.opts.antiSpoofing, forwarding6: () => this.context.resolved?.forwarding6,
        keepTapFds: (tap, fds) => this.keepTapFds(tap, fds),
        resolvedDump: () => this.takeResolvedDump(),
        ...(baseline ? { baseline: () => this.context.resolved?.routeOrder ?? {} } : {}),
      });
    const ifaceFor = (s: VethSettings): InterfacePlan | undefined =>
      [...(this.plan?.interfaces ?? []), ...(this.context.resolved?.change?.iface ? [this.context.resolved.change.iface] : [])].find((i) => interfaceNames(i.name).bridge === s.bridge);
    const unplumbLinks = async (r: Parameters<VethIo['unplumb']>[0]): Promise<void> => {
      if (this.netnsGone()) return;
      // The whole pod undone: the first unplumb deletes every interface's links in one go
      // and the others wait for it; else (or for records without the pod's group) each its own.
      // The supervisor tells all interfaces in one action: by the loop's next turn each has heard.
      if (this.vethChildren().length > 1) {
        await new Promise((res) => setImmediate(res));
        if (this.wholePodUndone() && (await (this.podUnplumb ??= this.unplumbAll()))) return;
      }
      await kernel().unplumb(r);
    };
    const io: VethIo = {
      capture: (r) => kernel(this.context.resolved?.change?.child?.id !== r.ifName).capture(r),
      strip: (r) => kernel().strip(r),
      plumb: (r) => kernel().plumb(r),
      isolate: (r) => kernel().isolate(r),
      // With the pod netns gone, everything these would undo went with it.
      unisolate: async (r) => (this.netnsGone() ? undefined : kernel().unisolate(r)),
      unplumb: async (r) => {
        // Closed beside the deletion below; the step ends when both have.
        const closing = this.dropTapFds(r.settings.tap);
        try {
          await unplumbLinks(r);
        } finally {
          await closing;
        }
      },
      restore: async (r) => (this.netnsGone() ? undefined : kernel().restore(r)),
      startDhcp: async ({ settings, rebind }) => {
        const iface = ifaceFor(settings);
        const parts = iface && servePartsFor(iface, this.plan!, settings, this.deps.opts.dhcp.leaseSeconds);
        // Neither IPv4 nor global IPv6: nothing to serve (cloud-init carries the rest).
        if (!iface || !parts) return;
        const req = { key: this.dhcpKey(iface.name), netnsPath: this.request.netnsPath, bridge: settings.bridge, ...parts };
        await (rebind ? this.deps.pool.rebind(req) : this.deps.pool.serve(req));
      },
      stopDhcp: async ({ settings }) => {
        const iface = ifaceFor(settings);
        if (iface) await this.deps.pool.stop(this.dhcpKey(iface.name));
      },
    };
    return this.journaled(io);
  }

  /** The host's SR-IOV io, opened on first use (the runtime makes it once for all pods). */
  private sriovIo(): SriovIo {
    const call = (name: (typeof SRIOV_IO_METHODS)[number]) => (input: never) =>
      (this.deps.sriovIo()[name] as (i: never) => Promise<unknown>)(input);
    return this.journaled(Object.fromEntries(SRIOV_IO_METHODS.map((m) => [m, call(m)])) as unknown as SriovIo);
  }

  // ---- durable record, status, events ----

  private childContexts(): Record<string, { value: unknown; context: { done?: string[]; record?: unknown; vfioDevice?: string; error?: { code: string; message: string } ; undoError?: { code: string; message: string; step: string } } }> {
    const out: Record<string, never> = {};
    const children = this.actor.getSnapshot().children as Record<string, AnyActorRef | undefined>;
    for (const [id, ref] of Object.entries(children)) {
      // A child not started yet has no context: it has done nothing to record.
      const snap = ref?.getSnapshot() as { context?: unknown } | undefined;
      if (snap?.context) out[id] = snap as never;
    }
    return out;
  }

  persistNow(): void {
    const snap = this.actor.getSnapshot();
    const resolved = snap.context.resolved;
    if (!resolved) return;
    const children = Object.entries(this.childContexts());
    // Contexts are immutable: the same objects as last time, the same interfaces.
    const contexts = children.map(([, s]) => s.context);
    const phase = podPhase(snap.value, snap.context);
    const w = this.written;
    if (w && w.of === resolved && w.phase === phase && sameItems(w.contexts, contexts)) return;
    const interfaces: PodRecord['interfaces'] = {};
    for (const [id, s] of children) {
      interfaces[id] = {
        done: s.context.done ?? [],
        ...(s.context.record ? { record: s.context.record } : {}),
        ...(s.context.vfioDevice ? { vfioDevice: s.context.vfioDevice } : {}),
      };
    }
    // What outlives a reboot (the request, the plan: CNI DEL needs them to release the IPAM of
    // an ADD netlet ran) is serialised once per plan object: the plan changes only by
    // assignment (a new object), the request never. A setup asks ~25 times and writes ~7.
    if (this.lasting?.of !== resolved) {
      const { cniResult: _omit, ...request } = this.request;
      this.lasting = { of: resolved, text: `"request":${JSON.stringify(request)},"resolved":${JSON.stringify(stripResume(resolved))}` };
    }
    const lasting = this.lasting.text;
    const ifaces = JSON.stringify(interfaces);
    // Every effect and every snapshot asks for a write; only a changed record is written.
    if (w && w.lasting === lasting && w.phase === phase && w.ifaces === ifaces) {
      this.written = { ...w, of: resolved, contexts };
      return;
    }
    // A step's progress survives a SIGKILL without fsync (the page cache stays); a reboot
    // takes the netns with it: only a changed lasting part of a pod whose ADD netlet ran is fsync'd.
    // The line is the PodRecord's JSON, put together from its parts.
    const line = `{"version":1,"podId":${JSON.stringify(this.podId)},${lasting},"phase":${JSON.stringify(phase)},"interfaces":${ifaces},"updatedAt":"${new Date().toISOString()}"}`;
    this.deps.store.writeJson(this.podId, line, { sync: resolved.cniAdded && lasting !== this.synced });
    this.written = { of: resolved, contexts, lasting, phase, ifaces };
    this.synced = lasting;
  }

  private observe(): void {
    const snap = this.actor.getSnapshot();
    const phase = podPhase(snap.value, snap.context);
    if (phase !== this.lastPhase) {
      this.pushEvent({ at: new Date().toISOString(), machine: 'pod', from: this.lastPhase || 'new', to: phase });
      this.log.info({ machine: 'pod', state: phase }, `pod ${phase}`);
      this.lastPhase = phase;
    }
    for (const [id, s] of Object.entries(this.childContexts())) {
      const state = stateName(s.value);
      const prev = this.lastStates.get(id);
      if (state !== prev) {
        this.lastStates.set(id, state);
        this.pushEvent({ at: new Date().toISOString(), machine: 'interface', interface: id, from: prev ?? 'new', to: state });
        this.log.info({ iface: id, machine: (snap.context.resolved?.children.find((c) => c.id === id)?.kind ?? '?') + 'Interface', state }, `${id} ${state}`);
      }
      const err = s.context.undoError ?? s.context.error;
      if (err && this.lastErrors.get(id)?.message !== err.message) {
        this.lastErrors.set(id, { code: err.code, message: err.message, at: new Date().toISOString() });
        this.log.warn({ iface: id, state, err: err.message, code: err.code }, `${id}: ${err.message}`);
      }
    }
    // Keep the record current after each step too (the journal covers "before").
    if (snap.status === 'active' && snap.context.resolved && !['forgetting', 'forgettingAfterRollback', 'gone', 'failed'].includes(topState(snap.value))) {
      try {
        this.persistNow();
      } catch (e) {
        this.log.error({ err: e }, 'cannot write the pod record');
      }
    }
  }

  private pushEvent(e: PodEventRecord): void {
    this.events.push(e);
    if (this.events.length > MAX_EVENTS) this.events.shift();
  }

  recentEvents(): PodEventRecord[] {
    return [...this.events];
  }

  /** `counters`: with each ready veth's anti-spoofing drops (one nft read each, on this thread). */
  status(counters = true): PodStatus {
    const snap = this.actor.getSnapshot();
    const children = this.childContexts();
    const interfaces: InterfaceStatus[] = (snap.context.resolved?.children ?? []).map((c) => {
      const s = children[c.id];
      const iface = snap.context.resolved!.plan.interfaces.find((i) => i.name === c.id);
      const st: InterfaceStatus = { name: c.id, kind: c.kind === 'veth' ? 'tap' : 'sriov', state: s ? stateName(s.value) : snap.context.phases[c.id] === 'restored' ? 'restored' : 'pending' };
      if (c.attachedAt) st.attachedAt = c.attachedAt;
      const err = this.lastErrors.get(c.id);
      if (err && s && ['failed', 'teardownFailed', 'recovering'].includes(st.state)) st.error = err.message;
      if (err) st.lastError = err;
      if (iface?.mac) st.mac = iface.mac;
      if (iface) st.ips = iface.ips.map((ip) => `${ip.address}/${ip.prefixLength}`);
      if (c.kind === 'veth') {
        const set = (c.input as VethInput).settings;
        st.tapName = set.tap;
        st.bridgeName = set.bridge;
        const d = this.deps.pool.status(this.dhcpKey(c.id));
        if (d) st.dhcp = d;
        const d6 = this.deps.pool.status6(this.dhcpKey(c.id));
        if (d6) st.ipv6 = d6;
        const dropped = counters && this.deps.opts.antiSpoofing && st.state.startsWith('ready') ? this.spoofDrops(c.id) : undefined;
        st.antiSpoofing = { enabled: this.deps.opts.antiSpoofing, ...(dropped ? { dropped } : {}) };
      } else {
        const rec = s?.context.record as { vf?: { pciAddress?: string } } | undefined;
        const pci = rec?.vf?.pciAddress ?? iface?.pciID;
        if (pci) st.pciAddress = pci;
      }
      return st;
    });
    const lc = snap.context.lastChange;
    return {
      podId: this.podId, phase: this.phase, interfaces,
      ...(snap.context.error ? { error: snap.context.error.message } : {}),
      ...(lc ? { lastChange: { op: lc.op, interface: lc.ifName, outcome: lc.outcome, ...(lc.error ? { error: lc.error.message } : {}) } } : {}),
    };
  }

  /** What the VM runtime needs: TAP fds (fresh ones on every call) or PCI addresses, and cloud-init. `only`: these interfaces. */
  network(only?: string[]): PodNetwork {
    const plan = this.context.resolved!.plan;
    const out: PodNetwork['interfaces'] = [];
    try {
      this.collectInterfaces(out, only);
    } catch (e) {
      // Nothing half-handed: the TAP fds taken or opened so far are closed (the VM asks again).
      for (const i of out) if (i.kind === 'tap') for (const fd of i.fds) void closeAsync(fd);
      throw e;
    }
    let cloudInit: PodNetwork['cloudInit'] | undefined;
    return {
      podId: this.podId,
      interfaces: out,
      // Rendered when first read (~2 ms of YAML per pod: most callers read it later, or never).
      get cloudInit() {
        if (!cloudInit) {
          const ci = renderCloudInit(plan);
          cloudInit = { networkConfigV1: ci.networkConfigV1, networkConfigV1Yaml: ci.networkConfigV1Yaml, networkConfigV2: ci.networkConfigV2, networkConfigV2Yaml: ci.networkConfigV2Yaml, networkData: ci.networkData, instanceId: ci.instanceId };
        }
        return cloudInit;
      },
    };
  }

  /** The VM's interfaces into `out` (TAP fds taken from the kept ones or opened). */
  private collectInterfaces(out: PodNetwork['interfaces'], only?: string[]): void {
    const resolved = this.context.resolved!;
    const plan = resolved.plan;
    const children = this.childContexts();
    for (const c of resolved.children) {
      if (only && !only.includes(c.id)) continue;
      // Restored (a detach whose CNI DEL failed): nothing left for the VM.
      if (this.context.phases[c.id] === 'restored') continue;
      const iface = plan.interfaces.find((i) => i.name === c.id)!;
      const ips = iface.ips.map((ip) => ({ address: `${ip.address}/${ip.prefixLength}`, ...(ip.gateway ? { gateway: ip.gateway } : {}) }));
      if (c.kind === 'veth') {
        const set = (c.input as VethInput).settings;
        const kept = this.tapFds.get(set.tap);
        this.tapFds.delete(set.tap);
        const fds = kept ?? openTapFds(this.rtnl(), set, this.deps.opts.tap.vnetHdr);
        out.push({ kind: 'tap', name: iface.name, tapName: set.tap, bridgeName: set.bridge, mac: iface.mac!, mtu: iface.mtu ?? 1500, fd: fds[0]!, fds, ips });
      } else {
        const rec = children[c.id]?.context.record as { vf: { pciAddress: string }; pf: { vlan: number }; targetMac: string } | undefined;
        const vlan = rec?.pf.vlan;
        out.push({ kind: 'sriov', name: iface.name, pciAddress: rec?.vf.pciAddress ?? iface.pciID ?? '', mac: rec?.targetMac ?? iface.mac ?? '', mtu: iface.mtu ?? 1500, ips, ...(vlan ? { vlan } : {}) });
      }
    }
  }

  /** status() with the anti-spoofing counters read off the main thread, every interface's at once. */
  async readStatus(): Promise<PodStatus> {
    const st = this.status(false);
    if (!this.deps.opts.antiSpoofing) return st;
    await Promise.all(st.interfaces.map(async (i) => {
      if (i.kind !== 'tap' || !i.state.startsWith('ready')) return;
      const dropped = await this.readDrops(i.name);
      if (dropped) i.antiSpoofing = { enabled: true, dropped };
    }));
    return st;
  }

  /**
   * A veth interface's anti-spoofing counters, read on an nft thread through a netns fd of the
   * read's own: a teardown may close the pod's meanwhile, and its number be reused.
   */
  private async readDrops(iface: string): Promise<SpoofCounters | undefined> {
    const table = this.spoofTable(iface);
    if (!table) return undefined;
    let ns: NetnsHandle | undefined;
    try {
      ns = NetnsHandle.open(this.request.netnsPath);
      return await readSpoofCountersAsync(ns.fd, table);
    } catch {
      return undefined;
    } finally {
      ns?.close();
    }
  }

  /** Frames anti-spoofing dropped on a veth interface, per reason; undefined without its table. */
  spoofDrops(iface: string): SpoofCounters | undefined {
    const table = this.spoofTable(iface);
    if (!table) return undefined;
    try {
      return readSpoofCounters(this.rtnl().netns.fd, table);
    } catch {
      return undefined;
    }
  }

  /** The nft table of a veth interface whose netns is still there (else nothing to read). */
  private spoofTable(iface: string): string | undefined {
    const c = this.context.resolved?.children.find((x) => x.id === iface && x.kind === 'veth');
    return c && !this.netnsGone() ? (c.input as VethInput).settings.table : undefined;
  }

  /**
   * Monitor tick: a warning when a ready interface drops spoofed frames (rate-limited). Reads
   * counters off the main thread (a read waits for an RCU grace period while other pods'
   * tables are deleted), every 5th tick (10 s by default) and only when a line could be due.
   */
  async watchSpoofing(now = Date.now()): Promise<void> {
    if (!this.deps.opts.antiSpoofing) return;
    for (const i of this.status(false).interfaces) {
      if (i.kind !== 'tap' || !i.state.startsWith('ready') || !this.spoofLog.wantsRead(i.name, now)) continue;
      // A teardown may have begun during an earlier read: no warning for a pod going away.
      if (this.phase !== 'ready' && this.phase !== 'degraded') return;
      const dropped = await this.readDrops(i.name);
      const delta = dropped && this.spoofLog.due(i.name, now, dropped);
      if (!delta) continue;
      const n = Object.values(delta).reduce((a, b) => a + b, 0);
      const why = Object.entries(delta).map(([r, k]) => `${r} ${k}`).join(', ');
      this.log.warn({ iface: i.name, dropped: delta, total: dropped }, `${i.name}: anti-spoofing dropped ${n} frames from the VM (${why}); next report in a minute at the earliest`);
    }
  }

  /** Links this pod's veth interfaces depend on, for the monitor. */
  vethLinks(): { iface: string; tap: string; bridge: string }[] {
    return (this.context.resolved?.children ?? [])
      .filter((c) => c.kind === 'veth')
      .map((c) => ({ iface: c.id, tap: (c.input as VethInput).settings.tap, bridge: (c.input as VethInput).settings.bridge }));
  }

  async linkNames(): Promise<Set<string>> {
    // From a pool thread: a link dump waits for the rtnl lock, which other pods' link deletions
    // hold 30-40 ms each (on the event loop: stalls up to 0.8 s during 125 teardowns).
    // rtnl(): a pod adopted after a restart has not opened its netns yet.
    return new Set((await this.rtnl().offLoop.links()).map((l) => l.name));
  }

  /**
   * Watches the pod netns's links (netlink events) until teardown: `changed` when one the pod
   * depends on may be gone: a link deleted, one under a name not the pod's (a rename), or events
   * lost. 'started' when the watch begins now (what went before it only a dump tells), 'watching'
   * when it runs already, 'unwatched' when none could be made (logged; the monitor dumps instead).
   */
  watchLinks(changed: () => void): 'started' | 'watching' | 'unwatched' {
    if (this.linkWatch) return 'watching';
    try {
      this.linkWatch = this.rtnl().watchLinks((e) => {
        // Called from the addon: a throw here would end the process.
        try {
          if ('lost' in e || e.deleted || !this.ownLinkNames().has(e.link.name)) changed();
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'a link event could not be handled: the next dump checks the links');
        }
      });
      return 'started';
    } catch (e) {
      // Tried again every tick; said once.
      if (!this.watchFailed) this.log.warn({ err: (e as Error).message }, 'cannot watch the pod netns\'s links: the monitor dumps them every tick');
      this.watchFailed = true;
      return 'unwatched';
    }
  }

  private unwatchLinks(): void {
    this.linkWatch?.close();
    this.linkWatch = undefined;
  }

  /** The links a ready pod has: its interfaces, their TAPs and bridges, lo. */
  private ownLinkNames(): Set<string> {
    const names = new Set(['lo', ...(this.plan?.interfaces ?? []).map((i) => i.name)]);
    for (const l of this.vethLinks()) names.add(l.tap).add(l.bridge);
    return names;
  }
}

const sameItems = (a: readonly unknown[], b: readonly unknown[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Interface machine states that make no link again (undo chains, their ends, a failure). */
const UNDOING = new Set(['tearingDown', 'rollingBack', 'restored', 'failed', 'teardownFailed']);

/** A state value's top-level state (hot-plug states are nested). */
const topState = (v: unknown): string => (typeof v === 'string' ? v : Object.keys(v as object)[0] ?? '');

/** Records keep child inputs without resume data (that lives in `interfaces`). */
function stripResume(r: ResolvedPod): ResolvedPod {
  const strip = <C extends { input: unknown }>(c: C): C => { const { resume: _r, ...input } = c.input as { resume?: unknown }; return { ...c, input }; };
  const ch = r.change;
  return { ...r, children: r.children.map(strip), ...(ch ? { change: { ...ch, ...(ch.child ? { child: strip(ch.child) } : {}) } } : {}) };
}

// An interface's nftables bridge table (DHCP isolation and anti-spoofing, text built in
// nft-rules.ts). Applied in process through libnftables (the native addon) inside the
// pod netns: one atomic transaction, ~1 ms (spawning `nft` measured ~25 ms), and the
// table is deleted in one go on teardown.
import { NetletError } from '../model/errors.js';
import { native } from './native.js';
import { isolationScript, spoofCountersOf, type IsolationRule, type SpoofCounters } from './nft-rules.js';
import { countersRequest, parseCounters } from './nft-counters.js';

export { isolationRuleset, type IsolationRule } from './nft-rules.js';

type NftResult = { ok: boolean; output: string; error: string };
// libnftables waits for the kernel's acks in select(), which a signal interrupts (a child's
// SIGCHLD, a profiler's SIGPROF) and nothing restarts: seen as "Interrupted system call"
// under 50 concurrent setups. Every script here is idempotent: run it again.
const interrupted = (r: NftResult): boolean => !r.ok && /Interrupted system call/.test(r.error);
const TRIES = 5;

async function nftRunAsync(nsFd: number, text: string): Promise<NftResult> {
  let r = await native.nftRunAsync(nsFd, text);
  for (let i = 1; i < TRIES && interrupted(r); i++) r = await native.nftRunAsync(nsFd, text);
  return r;
}

/**
 * Installs the table (replacing one of the same name, so it is idempotent). On a pool thread:
 * the ~1-3 ms commit would otherwise hold the event loop (50 concurrent setups: 175 ms of it).
 */
export async function applyIsolation(nsFd: number, r: IsolationRule): Promise<void> {
  const res = await nftRunAsync(nsFd, isolationScript(r));
  if (!res.ok) {
    throw new NetletError('NFT_FAILED', `nftables refused the isolation rules for ${r.bridge}: ${res.error.trim()} (is the kernel's nf_tables bridge family available?)`, { table: r.table });
  }
}

/** Deletes the table; absent is fine. Off the main thread: the kernel waits for an RCU grace period. */
export async function removeIsolation(nsFd: number, table: string): Promise<void> {
  const res = await nftRunAsync(nsFd, `delete table bridge ${table}`);
  if (!res.ok && !/No such file or directory/.test(res.error)) {
    throw new NetletError('NFT_FAILED', `nftables could not delete table ${table}: ${res.error.trim()}`, { table });
  }
}

/**
 * Frames dropped by anti-spoofing, per reason; undefined without the table or its counters.
 * One nf_tables counters dump (nft-counters.ts), not a libnftables run: ~0.4 → ~0.1 ms.
 */
export function readSpoofCounters(nsFd: number, table: string): SpoofCounters | undefined {
  const found = parseCounters(native.nfRequest(nsFd, countersRequest(table)));
  return found && spoofCountersOf(found);
}

/**
 * The same off the main thread (the nft threads), for the monitor and readPods: closing the
 * request's netlink socket waits for an RCU grace period (15-20 ms) while other pods' tables
 * are being deleted.
 */
export async function readSpoofCountersAsync(nsFd: number, table: string): Promise<SpoofCounters | undefined> {
  const found = parseCounters(await native.nfRequestAsync(nsFd, countersRequest(table)));
  return found && spoofCountersOf(found);
}

// nftables (bridge family) rules that keep an interface's DHCP between the VM and
// netlet's server. Applied with `nft -f -` inside the pod netns (nsenter): the rules
// are one atomic transaction, and their table is deleted in one go on teardown.
import { spawn } from 'node:child_process';
import { NetletError } from '../model/errors.js';

export interface IsolationRule {
  table: string;
  bridge: string;
  bridgeMac: string;
  bridgeAddress: string;
  tap: string;
  veth: string;
}

/** The ruleset text: also what `netlet inspect` and the docs show. */
export function isolationRuleset(r: IsolationRule): string {
  return `table bridge ${r.table} {
  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
    # DHCP from the cluster side never reaches the VM or netlet's server.
    iifname "${r.veth}" udp dport { 67, 68 } drop
    # A renewing VM unicasts to the server id through its gateway's MAC: deliver it here.
    iifname "${r.tap}" ip daddr ${r.bridgeAddress} udp dport 67 ether daddr set ${r.bridgeMac} meta pkttype set host
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    # The VM's DHCP never leaves through the veth.
    oifname "${r.veth}" udp dport { 67, 68 } drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    # The server's replies (flooded by an ageing-0 bridge) never leave through the veth.
    oifname "${r.veth}" udp sport { 67, 68 } drop
  }
}
`;
}

async function nft(netnsPath: string, args: string[], input?: string): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('nsenter', [`--net=${netnsPath}`, 'nft', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('error', (e) => reject(new NetletError('NFT_UNAVAILABLE', `cannot run nft: ${e.message} (install the nftables package)`)));
    p.once('close', (code) => resolve({ code: code ?? 1, stderr, stdout }));
    p.stdin.end(input ?? '');
  });
}

/** Installs the table (replacing one of the same name, so it is idempotent). */
export async function applyIsolation(netnsPath: string, r: IsolationRule): Promise<void> {
  const text = `table bridge ${r.table}\ndelete table bridge ${r.table}\n${isolationRuleset(r)}`;
  const res = await nft(netnsPath, ['-f', '-'], text);
  if (res.code !== 0) {
    throw new NetletError('NFT_FAILED', `nft could not load the isolation rules for ${r.bridge}: ${res.stderr.trim()}`, { table: r.table });
  }
}

/** Deletes the table; absent is fine. */
export async function removeIsolation(netnsPath: string, table: string): Promise<void> {
  const res = await nft(netnsPath, ['delete', 'table', 'bridge', table]);
  if (res.code !== 0 && !/No such file or directory/.test(res.stderr)) {
    throw new NetletError('NFT_FAILED', `nft could not delete table ${table}: ${res.stderr.trim()}`, { table });
  }
}

export async function hasIsolation(netnsPath: string, table: string): Promise<boolean> {
  return (await nft(netnsPath, ['list', 'table', 'bridge', table])).code === 0;
}

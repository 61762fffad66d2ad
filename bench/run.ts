// `make bench`: the three benchmarks side by side with their baselines, in one process.
//   1. veth setup/teardown (1 and 4 veths) vs the same kernel operations through `ip -batch`
//   2. 250 pods set up concurrently: wall time, RSS per pod, fds, threads, DHCP answers
//   3. DHCP DISCOVER→ACK latency and DORA/s vs dnsmasq on the same bridge
// Prints tables and writes bench/results/latest.json. `--quick` for a short run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runVethBench } from './veth.js';
import { runDhcpBench } from './dhcp.js';
import { runPodsBench } from './pods.js';

const quick = process.argv.includes('--quick');
const log = (l: string): void => console.log(l);

async function main(): Promise<void> {
  const started = new Date().toISOString();
  console.log(`netlet benchmarks (${quick ? 'quick' : 'full'}), kernel ${release()}, node ${process.version}\n`);
  console.log('== 1. VethInterface setup/teardown vs ip -batch ==');
  const veth = await runVethBench({ runs: quick ? 5 : 20, log });
  console.log('\n== 2. DHCP: netlet vs dnsmasq on the same bridge ==');
  const dhcp = await runDhcpBench({ exchanges: quick ? 50 : 200, seconds: quick ? 1 : 3, log });
  console.log(`\n== 3. ${quick ? 25 : 250} pods set up concurrently ==`);
  const pods = await runPodsBench({ pods: quick ? 25 : 250, log: (s) => console.log(`  ${s}`) });
  const rows: [string, string][] = [
    ['pods', String(pods.pods)],
    ['setup wall time', `${(pods.setupWallMs / 1000).toFixed(2)} s (${pods.setupPerPodMs.toFixed(1)} ms/pod)`],
    ['teardown wall time', `${(pods.teardownWallMs / 1000).toFixed(2)} s`],
    ['RSS growth per pod', `${pods.rssGrowthPerPodKiB.toFixed(0)} KiB`],
    ['open fds (before → peak)', `${pods.fdsBefore} → ${pods.fdsAtPeak}`],
    ['threads at peak', String(pods.threadsAtPeak)],
    ['pods whose DHCP answered', `${pods.dhcpAnswered}/${pods.pods}`],
    ['netlet links left after teardown', String(pods.linksLeft)],
  ];
  for (const [k, v] of rows) console.log(`  ${k.padEnd(34)} ${v}`);
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}latest.json`;
  writeFileSync(file, JSON.stringify({ started, finished: new Date().toISOString(), quick, kernel: release(), node: process.version, veth, dhcp, pods }, null, 2));
  console.log(`\nwritten to ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

// `make bench`: the three benchmarks side by side with their baselines, in one process.
//   1. veth setup/teardown (1 and 4 veths) vs the same kernel operations through `ip -batch`
//   2. 250 pods set up concurrently: wall time, RSS per pod, fds, threads, DHCP answers
//   3. DHCP DISCOVER→ACK latency and DORA/s vs dnsmasq on the same bridge
//   4. anti-spoofing: table apply with vs without it, ping flood through the TAP path on vs off
// Prints tables and writes bench/results/latest.json. `--quick` for a short run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runVethBench } from './veth.js';
import { runDhcpBench } from './dhcp.js';
import { runPodsBench } from './pods.js';
import { printSideBySide, runSideBySide } from './side-by-side.js';
import { runAntiSpoofBench } from './antispoof.js';

const quick = process.argv.includes('--quick');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const want = (part: string): boolean => only === undefined || only === part;
const log = (l: string): void => console.log(l);

async function main(): Promise<void> {
  const started = new Date().toISOString();
  console.log(`netlet benchmarks (${quick ? 'quick' : 'full'}), kernel ${release()}, node ${process.version}\n`);
  const results: Record<string, unknown> = {};
  if (want('veth')) {
    console.log('== 1. VethInterface setup/teardown vs ip -batch ==');
    results.veth = await runVethBench({ runs: quick ? 5 : 20, log });
  }
  if (want('dhcp')) {
    console.log('\n== 2. DHCP: netlet vs dnsmasq on the same bridge ==');
    results.dhcp = await runDhcpBench({ exchanges: quick ? 50 : 200, seconds: quick ? 1 : 3, log });
  }
  if (want('pods')) await podsPart(results);
  if (want('antispoof')) {
    console.log('\n== 4. anti-spoofing: apply and per-packet cost ==');
    results.antispoof = await runAntiSpoofBench({ applies: quick ? 10 : 50, rounds: quick ? 1 : 3, count: quick ? 5000 : 20000, log });
  }
  if (want('side')) {
    console.log('\n== 5. netlet vs a shell script with dnsmasq vs the kernel floor, on identical pods ==');
    const side = await runSideBySide({ pods: quick ? [25] : [50, 250], single: quick ? 5 : 15, log: (s) => console.log(`  ${s}`) });
    printSideBySide(side, log);
    results.side = side;
  }
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${only ? `latest-${only}` : 'latest'}.json`;
  writeFileSync(file, JSON.stringify({ started, finished: new Date().toISOString(), quick, kernel: release(), node: process.version, ...results }, null, 2));
  console.log(`\nwritten to ${file}`);
}

async function podsPart(results: Record<string, unknown>): Promise<void> {
  console.log(`\n== 3. ${quick ? 25 : 250} pods set up concurrently ==`);
  const pods = await runPodsBench({ pods: quick ? 25 : 250, log: (s) => console.log(`  ${s}`) });
  results.pods = pods;
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
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

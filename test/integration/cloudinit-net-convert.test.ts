// Feeds every golden file to the real cloud-init (`devel net-convert`) and checks what it
// writes for networkd, eni and netplan. Its exit code accepts broken input, so the test
// also demands a clean log and reads the rendered files back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { projectRoot } from '../support/netns.js';
import { goldenCases, goldenFiles } from '../unit/cloudinit/plans.js';
import { expectedGuests } from './cloudinit-expected.js';
import { missingFiles, outputFiles, readGuestNetwork, type GuestNetwork, type OutputKind } from './cloudinit-outputs.js';

const work = mkdtempSync(join(tmpdir(), 'netlet-cloudinit-'));
after(() => rmSync(work, { recursive: true, force: true }));

const inputs = [
  { file: goldenFiles.v1, kind: 'yaml' },
  { file: goldenFiles.v2, kind: 'yaml' },
  { file: goldenFiles.networkData, kind: 'network_data.json' },
] as const;
const outputs: OutputKind[] = ['networkd', 'eni', 'netplan'];

function netConvert(input: string, kind: string, output: OutputKind, dir: string): void {
  const r = spawnSync('cloud-init', ['devel', 'net-convert', '-p', input, '-k', kind, '-D', 'debian', '-d', dir, '-O', output], { encoding: 'utf8' });
  const log = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, log);
  assert.doesNotMatch(log, /WARNING|Traceback|failed|error/i, log);
  // Nothing but its two progress lines: any other line is a complaint.
  assert.deepEqual(log.trim().split('\n'), [`Read input format '${kind}' from '${input}'.`, `Wrote output format '${output}' to '${dir}/'`], log);
}

/** An on-link route to a gateway must come before every route through that gateway. */
function assertOnLinkFirst(routes: string[], where: string): void {
  routes.forEach((route, index) => {
    const [, gw] = route.split('>') as [string, string];
    const onLink = routes.findIndex((r) => r === `${gw}/32>0.0.0.0` || r === `${gw}/128>::`);
    if (onLink >= 0) assert.ok(onLink < index, `${where}: ${route} comes before its on-link route ${routes[onLink]}`);
  });
}

function assertGuest(got: GuestNetwork, caseName: string, where: string, staticDnsKept: boolean): void {
  const want = expectedGuests[caseName]!;
  assert.deepEqual(Object.keys(got.interfaces).sort(), Object.keys(want.interfaces).sort(), where);
  for (const [name, w] of Object.entries(want.interfaces)) {
    const g = got.interfaces[name]!;
    assert.equal(g.mac, w.mac, `${where} ${name} mac`);
    assert.deepEqual([...g.addresses].sort(), [...w.addresses].sort(), `${where} ${name} addresses`);
    assert.equal(g.mtu, w.mtu, `${where} ${name} mtu`);
    assert.equal(g.dhcp4, w.dhcp4, `${where} ${name} dhcp4`);
    assert.deepEqual([...g.routes].sort(), [...w.routes].sort(), `${where} ${name} routes`);
    assertOnLinkFirst(g.routes, `${where} ${name}`);
  }
  assert.deepEqual(got.nameservers, staticDnsKept ? want.nameservers : [], `${where} nameservers`);
  assert.deepEqual(got.search, staticDnsKept ? want.search : [], `${where} search`);
}

void describe('cloud-init 22.4 net-convert accepts every golden and renders what the plan says', () => {
  for (const caseName of Object.keys(goldenCases)) {
    const names = Object.keys(expectedGuests[caseName]!.interfaces);
    for (const input of inputs) {
      for (const output of outputs) {
        void it(`${caseName}: ${input.file} -> ${output}`, () => {
          const dir = join(work, caseName, input.file, output);
          netConvert(join(projectRoot, 'test/fixtures/cloudinit', caseName, input.file), input.kind, output, dir);
          assert.deepEqual(missingFiles(dir, outputFiles(output, names)), [], `${dir}: expected files`);
          // cloud-init's netplan renderer copies v1's global nameservers only onto interfaces
          // with addresses: a DHCP-only guest gets its DNS from DHCP there. v2 names it per interface.
          const anyAddress = Object.values(expectedGuests[caseName]!.interfaces).some((i) => i.addresses.length > 0);
          const staticDnsKept = output !== 'netplan' || input.file === goldenFiles.v2 || anyAddress;
          assertGuest(readGuestNetwork(output, dir), caseName, `${caseName} ${input.file} -> ${output}`, staticDnsKept);
        });
      }
    }
  }

  void it('PyYAML (cloud-init\'s parser, YAML 1.1) reads every golden YAML as the yaml package does', () => {
    for (const caseName of Object.keys(goldenCases)) {
      for (const file of [goldenFiles.v1, goldenFiles.v2]) {
        const path = join(projectRoot, 'test/fixtures/cloudinit', caseName, file);
        const py = spawnSync('python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', path], { encoding: 'utf8' });
        assert.equal(py.status, 0, py.stderr);
        assert.deepEqual(JSON.parse(py.stdout), parse(readFileSync(path, 'utf8'), { strict: true, uniqueKeys: true }), path);
      }
    }
  });
});

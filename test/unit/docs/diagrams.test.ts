// docs/architecture.md holds exactly the state diagrams the machine definitions generate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagramsSection, replaceDiagrams } from '../../../src/debug/docs.js';
import { projectRoot } from '../../support/netns.js';

void test('docs/architecture.md state diagrams match the machine definitions (run scripts/gen-diagrams.mjs after a change)', () => {
  const page = readFileSync(join(projectRoot, 'docs/architecture.md'), 'utf8');
  assert.equal(page, replaceDiagrams(page, diagramsSection()));
  for (const m of ['veth', 'sriov', 'pod']) assert.ok(page.includes(`### ${m}\n`), `diagram of ${m}`);
});

// Renderings compared byte for byte with test/fixtures/cloudinit/<case>/.
// UPDATE_GOLDENS=1 rewrites them (review the diff before committing).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderCloudInit } from '../../../src/cloudinit/index.js';
import { projectRoot } from '../../support/netns.js';
import { goldenCases, goldenFiles } from './plans.js';

export const goldenDir = (name: string): string => join(projectRoot, 'test/fixtures/cloudinit', name);

void describe('cloud-init renderings match the golden files', () => {
  for (const [name, plan] of Object.entries(goldenCases)) {
    void it(name, () => {
      const r = renderCloudInit(plan);
      const texts: Record<keyof typeof goldenFiles, string> = {
        v1: r.networkConfigV1Yaml,
        v2: r.networkConfigV2Yaml,
        networkData: `${JSON.stringify(r.networkData, null, 2)}\n`,
      };
      const dir = goldenDir(name);
      for (const [key, file] of Object.entries(goldenFiles) as [keyof typeof goldenFiles, string][]) {
        const path = join(dir, file);
        if (process.env.UPDATE_GOLDENS === '1') {
          mkdirSync(dir, { recursive: true });
          writeFileSync(path, texts[key]);
        }
        assert.ok(existsSync(path), `missing golden ${path} (run with UPDATE_GOLDENS=1)`);
        assert.equal(texts[key], readFileSync(path, 'utf8'), `${name}/${file}`);
      }
    });
  }
});

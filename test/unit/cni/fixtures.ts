// Loads the CNI fixtures copied into test/fixtures/cni (never ../shared).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../support/netns.js';

export const fixtureDir = join(projectRoot, 'test', 'fixtures', 'cni');
export const fixtureText = (name: string): string => readFileSync(join(fixtureDir, name), 'utf8');
export const fixture = (name: string): any => JSON.parse(fixtureText(name));
export const fixtureNames = (): string[] => readdirSync(fixtureDir).filter((n) => n.endsWith('.json')).sort();

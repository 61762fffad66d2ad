#!/usr/bin/env node
// Writes the state diagrams generated from the machine definitions into
// docs/architecture.md (between the diagrams markers). Run after `npm run build`.
// test/unit/docs-diagrams.test.ts fails when the page and the code disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { diagramsSection, replaceDiagrams } from '../dist/src/debug/docs.js';

const file = new URL('../docs/architecture.md', import.meta.url);
writeFileSync(file, replaceDiagrams(readFileSync(file, 'utf8'), diagramsSection()));
console.log('docs/architecture.md: diagrams regenerated');

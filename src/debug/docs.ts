// The state-diagram section of docs/architecture.md, generated from the machines, so the
// docs cannot drift from the code (a unit test compares them).
import { machineNames, renderMachine } from './graph.js';

export const BEGIN = '<!-- diagrams:begin -->';
export const END = '<!-- diagrams:end -->';

export function diagramsSection(): string {
  return machineNames()
    .map((name) => `### ${name}\n\n\`\`\`mermaid\n${renderMachine(name)!.mermaid.trimEnd()}\n\`\`\``)
    .join('\n\n');
}

/** The page with the text between the markers replaced. */
export function replaceDiagrams(page: string, section: string): string {
  const b = page.indexOf(BEGIN);
  const e = page.indexOf(END);
  if (b < 0 || e < b) throw new Error(`the page lacks the ${BEGIN} … ${END} markers`);
  return `${page.slice(0, b + BEGIN.length)}\n${section}\n${page.slice(e)}`;
}

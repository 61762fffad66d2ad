// The demo's two-column table (CNI assigned vs what the VM got) and its cell helpers.
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

export function printTable(rows: string[][]): void {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const [k, r] of rows.entries()) {
    const line = r.map((cell, c) => cell.padEnd(w[c]!)).join('  ');
    console.log(`      ${k === 0 ? bold(line) : line}`);
  }
}

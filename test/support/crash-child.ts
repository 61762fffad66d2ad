// Running test/support/runtime-crash-child in a child process (which SIGKILLs itself at a
// given record), and running many such cases a few at a time.
import { spawn } from 'node:child_process';

const CHILD = new URL('./runtime-crash-child.js', import.meta.url).pathname;

export interface ChildRun { records: { n: number; phase: string; sig: string }[]; signal: NodeJS.Signals | null; code: number | null; pid: number; out: string }

/** Runs the crash child with its JSON argument; resolves when its output is complete. */
export function runCrashChild(arg: Record<string, unknown>, timeoutMs = 20_000): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CHILD, JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('error', reject);
    // 'close', not 'exit': stdout may still hold the last records when the process exits.
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      const records = [...out.matchAll(/^record (\d+) (.*)$/gm)].map((m) => ({ n: Number(m[1]), sig: m[2]!, phase: (JSON.parse(m[2]!) as string[])[0]! }));
      resolve({ records, signal, code, pid: c.pid!, out });
    });
  });
}

/** Runs fns with at most `n` at a time; results in order. */
export async function inPool<T>(n: number, fns: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < fns.length) {
      const i = next++;
      out[i] = await fns[i]!();
    }
  }));
  return out;
}

// What a dynamically linked binary needs in the initramfs: the libraries `ldd` names.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Paths of the shared objects in `ldd` output (`libc.so.6 => /lib/.../libc.so.6 (0x..)`
 * and the loader's bare `/lib64/ld-linux-x86-64.so.2 (0x..)`); the vDSO has no file.
 */
export function parseLdd(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m?.[1] && !out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  return parseLdd(stdout);
}

// A small formatter for pino's JSON lines (`netlet daemon --log pretty`), so people get
// readable logs without a pino-pretty dependency:
//   12:03:04.567 INFO  [pod-1/eth0 vethInterface ready] eth0 ready  key=value ...
import { Writable } from 'node:stream';
import { paint, type Style } from './format.js';

const LEVELS: Record<number, { name: string; colour: 'dim' | 'green' | 'yellow' | 'red' | 'bold' }> = {
  10: { name: 'TRACE', colour: 'dim' },
  20: { name: 'DEBUG', colour: 'dim' },
  30: { name: 'INFO', colour: 'green' },
  40: { name: 'WARN', colour: 'yellow' },
  50: { name: 'ERROR', colour: 'red' },
  60: { name: 'FATAL', colour: 'red' },
};

/** Fields shown in the prefix or dropped (pino's own). */
const SHOWN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'podId', 'iface', 'machine', 'state', 'v']);

const fieldValue = (v: unknown): string => {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
};

/** One pino JSON line as text; anything that is not a pino line passes through as is. */
export function formatLogLine(line: string, s: Style): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof o !== 'object' || o === null || typeof o.level !== 'number') return line;
  const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '--:--:--.---';
  const lv = LEVELS[o.level] ?? { name: String(o.level), colour: 'bold' as const };
  const where = [
    [o.podId, o.iface].filter((x) => typeof x === 'string').join('/'),
    typeof o.machine === 'string' ? o.machine : '',
    typeof o.state === 'string' ? o.state : '',
  ].filter(Boolean).join(' ');
  const extra = Object.entries(o).filter(([k]) => !SHOWN.has(k)).map(([k, v]) => `${paint(s, 'dim', `${k}=`)}${fieldValue(v)}`);
  const msg = typeof o.msg === 'string' ? o.msg : '';
  return `${paint(s, 'dim', t)} ${paint(s, lv.colour, lv.name.padEnd(5))} ${where ? `${paint(s, 'bold', `[${where}]`)} ` : ''}${msg}${extra.length ? `  ${extra.join(' ')}` : ''}`;
}

/** A stream for pino: takes JSON lines, writes formatted ones to `out`. */
export function prettyStream(out: NodeJS.WritableStream, s: Style): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const text = lines.filter((l) => l !== '').map((l) => `${formatLogLine(l, s)}\n`).join('');
      if (text) out.write(text);
      cb();
    },
    final(cb) {
      if (pending) out.write(`${formatLogLine(pending, s)}\n`);
      cb();
    },
  });
}

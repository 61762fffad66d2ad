// Launches the test VM under QEMU software emulation (TCG; KVM is never used) with
// each NIC backed by a TAP fd handed to the child, and watches its serial console.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { READY_MARK } from './guest-scripts.js';
import { parseReport, type VmReport } from './report.js';

export interface VmNic {
  /**
   * An open TAP fd (the caller keeps ownership; QEMU gets a dup), opened with or
   * without IFF_VNET_HDR: QEMU probes the fd (TUNGETIFF) and refuses vnet_hdr= with fd=.
   */
  fd: number;
  mac: string;
}

export interface BootVmOptions {
  kernel: string;
  initrd: string;
  nics: VmNic[];
  memoryMb?: number;
  /** Extra kernel command line, after `console=ttyS0 quiet netlet.nics=N`. */
  append?: string;
  /** Hard limit on the VM's life; QEMU is killed after it. Default 300 s. */
  timeoutMs?: number;
  machine?: 'q35' | 'pc';
  /** A QMP socket QEMU listens on (`-qmp unix:PATH,server=on,wait=off`): see qmp.ts. */
  qmpSocket?: string;
  /**
   * Free hot-plug slots made at boot (q35): `pcie-root-port` ids `hp0`, `hp1`, ... for
   * device_add's `bus` (pcie.0 itself does not take hot-plugged devices).
   */
  hotplugSlots?: number;
  qemuBinary?: string;
  /** Every serial line as it arrives (without CR/LF). */
  onSerialLine?: (line: string) => void;
}

export interface RunningVm {
  readonly pid: number | undefined;
  /** The QEMU command line, for logs. */
  readonly argv: string[];
  /** Raw serial console output (QEMU stdout); also buffered in output(). */
  readonly serial: Readable;
  output(): string;
  lines(): string[];
  /** Resolves with the first match in the serial output so far or to come. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Waits for the report and the gateway ping verdict, then parses them. */
  report(ms?: number): Promise<VmReport>;
  /** Settles when QEMU exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops QEMU (TERM, then KILL) and waits for it; safe to call repeatedly. */
  kill(): Promise<void>;
}

/** QEMU children still running: killed synchronously if this process exits first. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** The id of the i-th hot-plug slot (a device_add `bus`). */
export const hotplugSlot = (i: number): string => `hp${i}`;

export function qemuArgs(opts: BootVmOptions): string[] {
  // loglevel=1: kernel messages would interleave with the report on the one console.
  const append = ['console=ttyS0', 'quiet', 'loglevel=1', `netlet.nics=${opts.nics.length}`, opts.append ?? ''].join(' ').trim();
  const args = [
    '-machine', opts.machine ?? 'q35',
    '-accel', 'tcg',
    '-cpu', 'max',
    '-smp', '1',
    '-m', String(opts.memoryMb ?? 256),
    '-nographic', '-nodefaults', '-no-user-config',
    '-serial', 'stdio',
    '-monitor', 'none',
    '-no-reboot',
    '-kernel', opts.kernel,
    '-initrd', opts.initrd,
    '-append', append,
  ];
  opts.nics.forEach((nic, i) => {
    // Fds are placed at 3, 4, ... in the child by spawn's stdio array.
    args.push('-netdev', `tap,id=n${i},fd=${3 + i}`);
    args.push('-device', `virtio-net-pci,netdev=n${i},mac=${nic.mac}`);
  });
  if (opts.qmpSocket) args.push('-qmp', `unix:${opts.qmpSocket},server=on,wait=off`);
  if (opts.hotplugSlots) {
    if ((opts.machine ?? 'q35') !== 'q35') throw new Error('hot-plug slots are pcie-root-ports: machine q35 only');
    for (let i = 0; i < opts.hotplugSlots; i++) args.push('-device', `pcie-root-port,id=${hotplugSlot(i)},bus=pcie.0,chassis=${i + 1}`);
  }
  return args;
}

export function bootVm(opts: BootVmOptions): RunningVm {
  const qemu = opts.qemuBinary ?? 'qemu-system-x86_64';
  const args = qemuArgs(opts);
  if (args.includes('-enable-kvm') || args.some((a) => /accel=kvm|^kvm$/.test(a))) throw new Error('the test VM never uses KVM');
  // setpriv --pdeathsig: QEMU dies with us even if this process is SIGKILLed.
  const [cmd, argv] = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', qemu, ...args]]
    : [qemu, args];
  const stdio: StdioOptions = ['pipe', 'pipe', 'pipe', ...opts.nics.map((n) => n.fd)];
  const child = spawn(cmd, argv, { stdio });
  live.add(child);

  const serial = new PassThrough();
  let out = '';
  let pending = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer): void => {
    const s = d.toString('utf8');
    out += s;
    serial.write(d);
    pending += s.replace(/\r/g, '');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const l of parts) opts.onSerialLine?.(l);
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  const timeoutMs = opts.timeoutMs ?? 300_000;
  const lifetime = setTimeout(() => void kill(), timeoutMs);
  lifetime.unref();

  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      clearTimeout(lifetime);
      serial.end();
      resolve({ code, signal });
      for (const w of [...waiters]) w();
    });
    // spawn failures (ENOENT) arrive as 'error' without 'exit'.
    child.once('error', (e) => {
      out += `\n[spawn error: ${e.message}]\n`;
      done = true;
      live.delete(child);
      clearTimeout(lifetime);
      resolve({ code: null, signal: null });
      for (const w of [...waiters]) w();
    });
  });

  const waitFor = (re: RegExp, ms = timeoutMs): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(out.replace(/\r/g, ''));
        if (m) return finish(() => resolve(m));
        if (done) finish(() => reject(new Error(`QEMU exited before ${re} appeared; serial:\n${out.slice(-4000)}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${re} not seen within ${ms} ms; serial:\n${out.slice(-4000)}`))), ms);
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });

  let killing: Promise<void> | undefined;
  const kill = (): Promise<void> =>
    (killing ??= (async () => {
      if (done) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    })());

  return {
    pid: child.pid,
    argv: [cmd, ...argv],
    serial,
    output: () => out,
    lines: () => out.replace(/\r/g, '').split('\n'),
    waitFor,
    async report(ms = timeoutMs): Promise<VmReport> {
      await waitFor(new RegExp(READY_MARK), ms);
      const r = parseReport(out);
      if (!r) throw new Error(`no parsable report in serial output:\n${out.slice(-4000)}`);
      return r;
    },
    exited,
    kill,
  };
}

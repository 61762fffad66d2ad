// netlet daemon --config FILE: the runtime plus its debug and control sockets. On
// SIGTERM/SIGINT it closes cleanly and leaves the pods for the next start to adopt.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Runtime } from '../../actors/runtime.js';
import type { RuntimeOptions } from '../../actors/options.js';
import type { SocketServer } from '../../debug/server.js';
import { choice, parse, showHelp, type Command } from '../args.js';
import { CliError, EXIT, usageError } from '../exit.js';
import { styleFor } from '../format.js';
import { prettyStream } from '../log-pretty.js';

const usage = `usage: netlet daemon --config FILE [--log json|pretty] [--log-level LEVEL]

Runs netlet: the runtime, the read-only debug socket and the control socket for VM
runtimes. FILE is JSON: the runtime options (stateDir, runDir, cni, dhcp, tap, sriov,
...; see docs/operators.md) plus optional
  "debugSocket":   path or false  (default <runDir>/debug.sock)
  "controlSocket": path or false  (default <runDir>/control.sock)
SIGTERM or SIGINT stops it cleanly; pods stay and the next start adopts them.

  --config FILE       the configuration (required)
  --log json|pretty   JSON lines (default) or a readable form, on stderr
  --log-level LEVEL   trace, debug, info (default), warn, error`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

type DaemonConfig = RuntimeOptions & { controlSocket?: string | false };

function readConfig(path: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`netlet daemon: cannot read the config ${path}: ${(e as Error).message}`, EXIT.ERROR);
  }
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new CliError(`netlet daemon: ${path} is not JSON: ${(e as Error).message}`, EXIT.ERROR);
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new CliError(`netlet daemon: ${path} must hold a JSON object`, EXIT.ERROR);
  const c = cfg as Record<string, unknown>;
  if (c.controlSocket !== undefined && c.controlSocket !== false && (typeof c.controlSocket !== 'string' || !c.controlSocket)) {
    throw new CliError(`netlet daemon: ${path}: controlSocket must be a path or false`, EXIT.ERROR);
  }
  return c as DaemonConfig;
}

export const daemon: Command = {
  name: 'daemon',
  summary: 'run the runtime with its debug and control sockets',
  usage,
  async run(argv, io) {
    const a = parse(argv, { config: { type: 'string', short: 'c' }, log: { type: 'string' }, 'log-level': { type: 'string' } }, usage, { min: 0, max: 0 });
    if (a.help) return showHelp(io, usage);
    // Loaded here: client commands start fast without the runtime's modules.
    const [{ default: pino }, { createRuntime }, { startControlServer }, { startDebugServer }, { socketIsLive }] = await Promise.all([
      import('pino'), import('../../actors/runtime.js'), import('../../debug/control.js'), import('../../debug/server.js'), import('../../debug/socket.js'),
    ]);
    if (typeof a.values.config !== 'string') throw usageError('--config FILE is required', usage);
    const logMode = choice(a.values.log, ['json', 'pretty'], 'json', '--log', usage);
    const level = choice(a.values['log-level'], LEVELS, process.env.NETLET_LOG_LEVEL ?? 'info', '--log-level', usage);
    const { controlSocket, ...config } = readConfig(a.values.config);
    const log: Logger = logMode === 'pretty'
      ? pino({ level }, prettyStream(io.err, styleFor(io.err, io.env)))
      : pino({ level }, pino.destination({ dest: 2, sync: true }));

    const runDir = config.runDir ?? '/run/netlet';
    const debugPath = config.debugSocket === false ? undefined : (config.debugSocket ?? join(runDir, 'debug.sock'));
    const controlPath = controlSocket === false ? undefined : (controlSocket ?? join(runDir, 'control.sock'));
    // Two daemons on one state dir would fight over the pods: refuse before adopting any.
    for (const p of [debugPath, controlPath]) {
      if (p && (await socketIsLive(p))) throw new CliError(`netlet daemon: another daemon is serving ${p}; stop it first`, EXIT.ERROR);
    }
    mkdirSync(runDir, { recursive: true, mode: 0o700 });

    let rt: Runtime;
    try {
      rt = await createRuntime({ ...config, logger: log });
    } catch (e) {
      throw new CliError(`netlet daemon: ${(e as Error).message}`, EXIT.ERROR);
    }
    const servers: SocketServer[] = [];
    try {
      if (debugPath) servers.push(await startDebugServer(rt, debugPath));
      if (controlPath) servers.push(await startControlServer(rt, controlPath));
    } catch (e) {
      await Promise.allSettled(servers.map((s) => s.close()));
      await rt.close();
      throw new CliError(`netlet daemon: ${(e as Error).message}`, EXIT.ERROR);
    }
    const stats = rt.stats();
    log.info({ debugSocket: debugPath ?? null, controlSocket: controlPath ?? null, pods: rt.listPods({ counters: false }).length, adopted: stats.adopted, rolledBack: stats.rolledBack }, 'netlet daemon ready');

    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          log.warn({ signal }, 'second signal: exiting now');
          process.exit(EXIT.ERROR);
        }
        stopping = true;
        log.info({ signal }, 'stopping; pods stay for the next start to adopt');
        void (async () => {
          await Promise.allSettled(servers.map((s) => s.close()));
          await rt.close();
          log.info('stopped');
          resolve(EXIT.OK);
        })();
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
  },
};

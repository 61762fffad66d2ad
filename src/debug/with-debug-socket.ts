// The runtime as 'netlet' exports it: the runtime plus its read-only debug socket. Composed
// here, above both, so the runtime never knows the debug server (which reads the runtime).
import { join } from 'node:path';
import { createRuntime, type Runtime } from '../actors/runtime.js';
import type { RuntimeOptions } from '../actors/options.js';
import { startDebugServer } from './server.js';

/**
 * createRuntime, then the debug socket at `options.debugSocket` (default
 * `<runDir>/debug.sock`; `false`: none). A socket that cannot start is logged and the
 * runtime carries on without it; close() closes the socket first.
 */
export async function createRuntimeWithDebugSocket(options: RuntimeOptions): Promise<Runtime> {
  const rt = await createRuntime(options);
  const { debugSocket, runDir } = rt.options;
  const path = debugSocket === false ? undefined : (debugSocket ?? join(runDir, 'debug.sock'));
  if (!path) return rt;
  const debug = await startDebugServer(rt, path).catch((e: Error) => void rt.logger.error({ err: e.message, socket: path }, 'debug socket not started'));
  if (!debug) return rt;
  const closeRuntime = rt.close.bind(rt);
  // The same object (its test hooks stay), with a close that stops the socket first.
  return Object.assign(rt, {
    async close() {
      await debug.close();
      await closeRuntime();
    },
  });
}

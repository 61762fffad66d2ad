// The debug socket: read-only HTTP over a unix socket (mode 0600) for operators and
// the `netlet` CLI. Nothing here changes a pod; see docs/operators.md.
//
//   GET /v1/health                   {ok, pid, pods}
//   GET /v1/pods                     {pods: PodStatus[]}
//   GET /v1/pods/{id}                PodStatus
//   GET /v1/pods/{id}/events         {podId, events}
//   GET /v1/pods/{id}/cloud-init     ?format=v1|v2|network-data (text)
//   GET /v1/machines                 {machines: [names]}
//   GET /v1/machines/{name}          {name, mermaid, dot}; ?format=mermaid|dot (text)
//   GET /metrics                     Prometheus text
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Runtime } from '../actors/runtime.js';
import type { CloudInitNetwork } from '../cloudinit/index.js';
import { machineNames, renderMachine } from './graph.js';
import { renderMetrics } from './metrics.js';
import { serveUnix, parseTarget, sendJson, sendText } from './socket.js';

export interface SocketServer {
  readonly path: string;
  close(): Promise<void>;
}

/** What the debug server reads from a runtime (a Runtime has all of it). */
export type DebugSource = Pick<Runtime, 'listPods' | 'getPod' | 'readPods' | 'readPod' | 'podEvents' | 'stats' | 'logger'> & {
  cloudInit(podId: string): CloudInitNetwork | undefined;
};

export const CLOUD_INIT_FORMATS = ['v1', 'v2', 'network-data'] as const;

/** The pod's cloud-init input in one of CLOUD_INIT_FORMATS: YAML for v1/v2, JSON for network-data. */
export function cloudInitText(ci: CloudInitNetwork, format: string): { text: string; contentType: string } | undefined {
  if (format === 'v1') return { text: ci.networkConfigV1Yaml, contentType: 'application/yaml; charset=utf-8' };
  if (format === 'v2') return { text: ci.networkConfigV2Yaml, contentType: 'application/yaml; charset=utf-8' };
  if (format === 'network-data') return { text: `${JSON.stringify(ci.networkData, null, 2)}\n`, contentType: 'application/json; charset=utf-8' };
  return undefined;
}

// Pod statuses with anti-spoofing counters come from readPod(s): a counters dump per
// interface off the event loop, not on it (with libnftables reads a scrape of 250 pods held it ~100 ms).
async function route(rt: DebugSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const t = parseTarget(req);
  if (!t) return sendJson(res, 400, { error: 'the request path cannot be decoded', path: req.url ?? '' });
  const notFound = (what = 'no such endpoint'): void => sendJson(res, 404, { error: what, path: t.path });
  const [a, b, c, d, ...rest] = t.segments;
  const known =
    (a === 'metrics' && !b) ||
    (a === 'v1' && (b === 'health' || b === 'pods' || b === 'machines') && !rest.length);
  if (!known) return notFound();
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendJson(res, 405, { error: `${req.method} is not allowed: the debug socket is read-only`, path: t.path }, { allow: 'GET, HEAD' });
  }
  if (a === 'metrics') {
    const pods = await rt.readPods();
    return sendText(res, 200, renderMetrics({ listPods: () => pods, stats: () => rt.stats() }), 'text/plain; version=0.0.4; charset=utf-8');
  }
  if (b === 'health') {
    if (c) return notFound();
    // A liveness probe's path: no nft read per interface.
    return sendJson(res, 200, { ok: true, pid: process.pid, pods: rt.listPods({ counters: false }).length });
  }
  if (b === 'machines') {
    if (!c) return sendJson(res, 200, { machines: machineNames() });
    if (d) return notFound();
    const m = renderMachine(c);
    if (!m) return notFound(`no machine '${c}' (known: ${machineNames().join(', ')})`);
    const format = t.query.get('format');
    if (format === 'mermaid') return sendText(res, 200, m.mermaid);
    if (format === 'dot') return sendText(res, 200, m.dot, 'text/vnd.graphviz; charset=utf-8');
    if (format !== null && format !== 'json') return sendJson(res, 400, { error: `format must be mermaid, dot or json, not '${format}'`, path: t.path });
    return sendJson(res, 200, m);
  }
  // /v1/pods...
  if (!c) return sendJson(res, 200, { pods: await rt.readPods() });
  // The pod's own status is read with its counters; its events and cloud-init need none.
  const status = d ? rt.getPod(c, { counters: false }) : await rt.readPod(c);
  if (!status) return sendJson(res, 404, { error: `no pod '${c}'`, path: t.path, podId: c });
  if (!d) return sendJson(res, 200, status);
  if (d === 'events') return sendJson(res, 200, { podId: c, events: rt.podEvents(c) ?? [] });
  if (d === 'cloud-init') {
    const format = t.query.get('format') ?? 'v2';
    const ci = rt.cloudInit(c);
    if (!ci) return sendJson(res, 409, { error: `pod '${c}' has no network plan yet (phase ${status.phase})`, path: t.path, podId: c });
    const out = cloudInitText(ci, format);
    if (!out) return sendJson(res, 400, { error: `format must be one of ${CLOUD_INIT_FORMATS.join(', ')}, not '${format}'`, path: t.path });
    return sendText(res, 200, out.text, out.contentType);
  }
  return notFound();
}

/** Starts the read-only debug server on `socketPath` (see the header comment). */
export async function startDebugServer(rt: DebugSource, socketPath: string): Promise<SocketServer> {
  const log = rt.logger.child({ component: 'debug-socket' });
  const server = createServer((req, res) => {
    route(rt, req, res).catch((e: unknown) => {
      log.error({ err: (e as Error).message, url: req.url }, 'debug request failed');
      if (!res.headersSent) sendJson(res, 500, { error: (e as Error).message, path: req.url ?? '' });
      else res.destroy();
    });
  });
  return serveUnix(server, socketPath, log, 'debug');
}

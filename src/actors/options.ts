// The in-process API's options and requests, validated with zod: a bad one is refused
// with a message naming the field.
import { z } from 'zod';
import type { RateLimit } from '../dhcp/ratelimit.js';
import { NetletError } from '../model/errors.js';
import { spawnNoFork } from '../io/spawn.js';

/** `{ ratePerSecond, burst }` or `false` (no limit). Checked by hand so each bad field is
 *  named (a zod union would only say the whole value matches neither branch). */
const rateLimitSchema = z.custom<RateLimit | false>().superRefine((v, ctx) => {
  if (v === false) return;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    ctx.addIssue({ code: 'custom', message: 'must be { ratePerSecond, burst } or false' });
    return;
  }
  const { ratePerSecond, burst, ...rest } = v as unknown as Record<string, unknown>;
  if (typeof ratePerSecond !== 'number' || !Number.isFinite(ratePerSecond) || ratePerSecond <= 0) {
    ctx.addIssue({ code: 'custom', path: ['ratePerSecond'], message: 'must be a positive number' });
  }
  if (typeof burst !== 'number' || !Number.isSafeInteger(burst) || burst <= 0) {
    ctx.addIssue({ code: 'custom', path: ['burst'], message: 'must be a positive integer' });
  }
  for (const k of Object.keys(rest)) ctx.addIssue({ code: 'custom', path: [k], message: 'is not a rate limit field (ratePerSecond, burst)' });
});

export const runtimeOptionsSchema = z.object({
  stateDir: z.string().min(1),
  runDir: z.string().min(1).default('/run/netlet'),
  debugSocket: z.union([z.string().min(1), z.literal(false)]).optional(),
  cni: z
    .object({
      confDir: z.string().min(1).optional(),
      binDirs: z.array(z.string().min(1)).optional(),
      cacheDir: z.string().min(1).optional(),
      defaultNetworks: z.array(z.string().min(1)).optional(),
      timeoutMs: z.number().int().positive().optional(),
      /** Command put in front of every plugin (tests run plugins inside a node netns). */
      wrapper: z.array(z.string().min(1)).optional(),
    })
    .default({}),
  sysfsRoot: z.string().min(1).default('/sys'),
  devRoot: z.string().min(1).default('/dev'),
  sriov: z.object({ enabled: z.boolean() }).default({ enabled: false }),
  dhcp: z
    .object({
      workers: z.number().int().min(1).max(16).optional(),
      leaseSeconds: z.number().int().min(10).optional(),
      /** Each interface's token bucket; default DEFAULT_RATE_LIMIT (50/s, burst 100). */
      rateLimit: rateLimitSchema.optional(),
    })
    .default({}),
  tap: z.object({ queues: z.number().int().min(1).max(64).default(1), vnetHdr: z.boolean().default(true) }).default({ queues: 1, vnetHdr: true }),
  /** Anti-spoofing on every TAP (docs/security.md): on unless the node's operator turns it off. */
  antiSpoofing: z.boolean().default(true),
  /** How often ready pods are checked for lost links and netns (ms); 0 turns it off. */
  monitorIntervalMs: z.number().int().min(0).default(2000),
  logger: z.any().optional(),
});

export type RuntimeOptions = z.input<typeof runtimeOptionsSchema>;
export type ResolvedOptions = z.output<typeof runtimeOptionsSchema>;

export const setupRequestSchema = z.object({
  podId: z.string().min(1).max(253),
  podName: z.string().optional(),
  podNamespace: z.string().optional(),
  netnsPath: z.string().min(1),
  annotations: z.record(z.string(), z.string()).optional(),
  cniResult: z.unknown().optional(),
  hostname: z.string().min(1).max(253).optional(),
  dns: z.object({ nameservers: z.array(z.string()), search: z.array(z.string()).optional(), options: z.array(z.string()).optional() }).optional(),
});

export type SetupRequest = z.input<typeof setupRequestSchema>;

export const attachRequestSchema = z.object({
  ifName: z.string().min(1).max(15).regex(/^[^/:\s]+$/, 'must be a Linux interface name (no / : or spaces)'),
  network: z.string().min(1).optional(),
  cniResult: z.unknown().optional(),
  /** Multus `default-route`: gateways of the default route this network takes; marks it the owner. */
  defaultRoute: z.array(z.string().min(1)).optional(),
}).refine((r) => r.network !== undefined || r.cniResult !== undefined, { message: 'give network (netlet runs CNI ADD) or cniResult (the caller ran it)', path: ['network'] });

export type AttachInterfaceRequest = z.input<typeof attachRequestSchema>;

export class InvalidRequestError extends NetletError {}

/** Parses with `schema`, or throws InvalidRequestError naming the first bad field. */
export function validate<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length ? issue.path.join('.') : '(root)';
  throw new InvalidRequestError('INVALID_REQUEST', `invalid ${what}: ${field}: ${issue.message}`, { field });
}

/** CNI exec options (conf dir, plugin dirs, cache, timeout, wrapper) from the runtime options. */
export function cniExecOptions(opts: ResolvedOptions) {
  const c = opts.cni;
  return {
    ...(c.confDir ? { confDir: c.confDir } : {}),
    ...(c.binDirs ? { binDirs: c.binDirs } : {}),
    ...(c.cacheDir ? { cacheDir: c.cacheDir } : {}),
    ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}),
    ...(c.wrapper ? { wrapper: c.wrapper } : {}),
    // No fork: a fork would make the whole runtime (DHCP workers included) copy-on-write.
    spawn: spawnNoFork,
  };
}

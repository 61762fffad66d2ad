// Typed errors of the CNI layer. Every failure leaving src/cni is one of these,
// each with a stable `code`; messages name what was found and what is needed.
import { NetletError } from '../model/errors.js';

/** A result or config without `cniVersion`. */
export class CniVersionMissingError extends NetletError {
  constructor(what: string, details?: Record<string, unknown>) {
    super('CNI_VERSION_MISSING', `${what} has no cniVersion; netlet needs one of 0.3.0 or later`, details);
  }
}

/** A `cniVersion` netlet does not speak (the legacy ip4/ip6 shape below 0.3.0, or an unknown future one). */
export class CniVersionUnsupportedError extends NetletError {
  readonly found: string;
  constructor(what: string, found: string, supported: readonly string[], details?: Record<string, unknown>) {
    const legacy = /^0\.[0-2]\./.test(found) ? ' (the legacy ip4/ip6 result shape)' : '';
    super(
      'CNI_VERSION_UNSUPPORTED',
      `${what} has cniVersion ${JSON.stringify(found)}${legacy}; netlet needs 0.3.0 or later, one of ${supported.join(', ')}`,
      { found, supported, ...details },
    );
    this.found = found;
  }
}

/** A CNI result that is not JSON or does not have the shape of its version. */
export class CniResultInvalidError extends NetletError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('CNI_RESULT_INVALID', message, details, options);
  }
}

/** A network config file (or config list) that cannot be used. */
export class CniConfigError extends NetletError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('CNI_CONFIG_INVALID', message, details, options);
  }
}

/** No config file in the conf dir carries the requested network name. */
export class CniNetworkNotFoundError extends NetletError {
  constructor(network: string, confDir: string, known: string[]) {
    super(
      'CNI_NETWORK_NOT_FOUND',
      `no CNI network named ${JSON.stringify(network)} in ${confDir}; found ${known.length ? known.join(', ') : 'none'}`,
      { network, confDir, known },
    );
  }
}

/** A plugin binary not found in any CNI_PATH dir (or not executable). */
export class CniPluginNotFoundError extends NetletError {
  constructor(type: string, binDirs: readonly string[]) {
    super('CNI_PLUGIN_NOT_FOUND', `CNI plugin ${JSON.stringify(type)} not found (or not executable) in ${binDirs.join(':')}`, {
      type,
      binDirs,
    });
  }
}

/** A plugin that failed: its error JSON (code, msg, details) when it printed one, else its exit status and stderr. */
export class CniPluginError extends NetletError {
  /** The CNI error code the plugin reported (1..99 spec, 100+ plugin-specific), if any. */
  readonly pluginCode: number | undefined;
  readonly msg: string;
  readonly pluginDetails: string | undefined;
  constructor(
    init: { plugin: string; command: string; pluginCode?: number; msg: string; pluginDetails?: string; exitCode?: number | null; stderr?: string },
  ) {
    const codeText = init.pluginCode !== undefined ? ` (CNI error ${init.pluginCode})` : '';
    const det = init.pluginDetails ? `: ${init.pluginDetails}` : '';
    super('CNI_PLUGIN_FAILED', `CNI plugin ${init.plugin} ${init.command} failed${codeText}: ${init.msg}${det}`, {
      plugin: init.plugin,
      command: init.command,
      pluginCode: init.pluginCode,
      exitCode: init.exitCode,
      stderr: init.stderr,
    });
    this.pluginCode = init.pluginCode;
    this.msg = init.msg;
    this.pluginDetails = init.pluginDetails;
  }
}

/** A plugin that did not finish in time; it was killed. */
export class CniTimeoutError extends NetletError {
  constructor(plugin: string, command: string, timeoutMs: number) {
    super('CNI_PLUGIN_TIMEOUT', `CNI plugin ${plugin} ${command} did not finish within ${timeoutMs} ms; killed it`, {
      plugin,
      command,
      timeoutMs,
    });
  }
}

/** A request the runtime itself refuses (bad container id, ifname, CNI_ARGS value, command not in this version). */
export class CniRequestError extends NetletError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CNI_REQUEST_INVALID', message, details);
  }
}

/** A pod annotation selecting networks that cannot be parsed. */
export class CniAnnotationError extends NetletError {
  constructor(annotation: string, problem: string, details?: Record<string, unknown>) {
    super('CNI_ANNOTATION_INVALID', `pod annotation ${annotation}: ${problem}`, { annotation, ...details });
  }
}

/** The result cache cannot be read or written. */
export class CniCacheError extends NetletError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('CNI_CACHE_ERROR', message, details, options);
  }
}

/** Several networks' DELs failed; each failure is kept. */
export class CniDelError extends NetletError {
  readonly failures: NetletError[];
  constructor(failures: NetletError[]) {
    super('CNI_DEL_FAILED', `CNI DEL failed for ${failures.length} attachment(s): ${failures.map((f) => f.message).join('; ')}`, {
      failures: failures.map((f) => ({ code: f.code, message: f.message })),
    });
    this.failures = failures;
  }
}

// Public API of the CNI layer.
export * from './errors.js';
export { SUPPORTED_VERSIONS, type CniVersion } from './version.js';
export type { CniLogger } from './logger.js';
export { parseCniResult, normaliseCniResult, validateCniResult, type ResultContext, type NormalisedResult } from './result.js';
export { loadNetworkConfigs, loadNetworkConfig, parseNetworkConfig, selectNetwork, type NetworkConfigList, type PluginConfig } from './config.js';
export { invokePlugin, findPlugin, DEFAULT_BIN_DIRS, DEFAULT_TIMEOUT_MS, type CniCommand, type PluginInvocation } from './exec.js';
export {
  addNetworkList,
  delNetworkList,
  checkNetworkList,
  gcNetworkList,
  statusNetworkList,
  cniArgsString,
  type RuntimeConf,
  type ExecOptions,
  type AddResult,
  type GcOutcome,
} from './list-ops.js';
export { readCacheEntry, listCacheEntries, cachePath, DEFAULT_CACHE_DIR, type CacheEntry, type AttachmentKey } from './cache.js';
export {
  parseGenieAnnotation,
  parseMultusAnnotation,
  selectNetworks,
  GENIE_ANNOTATION,
  MULTUS_ANNOTATION,
  type NetworkSelection,
  type PlannedAttachment,
} from './annotations.js';
export { applyDefaultRoutePolicy, type DroppedRoute } from './default-route.js';
export {
  addNetworks,
  delNetworks,
  addAttachment,
  delAttachment,
  checkNetworks,
  listAttachments,
  mergeDns,
  type PodNetworkRequest,
  type PodDelRequest,
  type PodNetworks,
  type AttachmentRequest,
  type Attachment,
} from './networks.js';

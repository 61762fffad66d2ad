// netlet's in-process API: createRuntime and the types a VM runtime uses.
export { createRuntime, type Runtime, type RuntimeStats } from './actors/runtime.js';
export type { RuntimeOptions, SetupRequest } from './actors/options.js';
export type { PodNetwork, PodInterface, PodStatus, InterfaceStatus, PodEventRecord, PodIp } from './actors/types.js';
export * from './model/index.js';
export { renderCloudInit } from './cloudinit/index.js';
export { parseCniResult } from './cni/index.js';

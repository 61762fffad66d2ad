// netlet's in-process API: createRuntime and the types a VM runtime uses.
// createRuntime here is the runtime plus its debug socket (options.debugSocket).
export { createRuntimeWithDebugSocket as createRuntime } from './debug/with-debug-socket.js';
export type { Runtime, RuntimeStats, StatusOptions } from './actors/runtime.js';
export type { RuntimeOptions, SetupRequest, AttachInterfaceRequest } from './actors/options.js';
export type { PodNetwork, PodInterface, PodStatus, InterfaceStatus, PodEventRecord, PodIp } from './actors/types.js';
export * from './model/index.js';
export { renderCloudInit } from './cloudinit/index.js';
export { parseCniResult } from './cni/index.js';

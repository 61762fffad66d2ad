// DHCPv6 for VM interfaces: wire codec, options, DUID, per-interface server logic (pure).
export * from './errors.js';
export * from './options.js';
export * from './domain-names.js';
export * from './codec.js';
export * from './duid.js';
export * from './config.js';
export * from './server.js';

// DHCPv4 for VM interfaces: wire codec, options, per-interface server logic, rate limit.
export * from './errors.js';
export * from './options.js';
export * from './codec.js';
export * from './config.js';
export * from './params.js';
export * from './fit.js';
export * from './ratelimit.js';
export * from './server.js';

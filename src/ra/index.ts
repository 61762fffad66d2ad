// IPv6 Router Advertisements for VM interfaces (pure): ND options, RA encode/parse, RS parse, the plan.
export * from './errors.js';
export * from './options.js';
export * from './checksum.js';
export * from './message.js';
export * from './solicit.js';
export * from './advert.js';
export * from './plan.js';

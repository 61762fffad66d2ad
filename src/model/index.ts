export * from './plan.js';
export * from './errors.js';
export * from './ip.js';
export * from './names.js';

// netlet's in-process API.
export * from './model/index.js';

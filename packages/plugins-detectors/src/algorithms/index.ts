/**
 * The algorithm layer of the detectors: math that several plugins share, as plain functions and
 * small classes (no plugin descriptors). Plugins import from here and from `../decision`, never
 * from each other.
 */
export * from './amp';
export * from './amp-host';
export * from './mpa-host';
export * from './covariance';
export * from './group-lasso';
export * from './host-complex';
export * from './layers';
export * from './mse-fair';
export * from './task-priority';
export * from './complexity';
export * from './multitask-network';
export * from './score-models';
export * from './langevin';
export * from './score-refinenet';
export { wasmDescription } from './wasm';

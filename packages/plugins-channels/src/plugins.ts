/**
 * Every channel plugin of this package, one line each, in registration order. A new plugin is
 * one more line here; `index.ts` registers what this module exports (`pluginClassesIn`).
 */
export * from './rayleigh';
export * from './per-resource-rayleigh';
export * from './path-loss-rayleigh';
export * from './noma-rayleigh';
export * from './normalized-path-loss';

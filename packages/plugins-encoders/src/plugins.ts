/**
 * Every encoder plugin of this package, one line each, in registration order. A new plugin is
 * one more line here; `index.ts` registers what this module exports (`pluginClassesIn`).
 */
export * from './gaussian-pilots';
export * from './scma-codebook';
export * from './learned-pilots';
export * from './codebook-file';
export * from './random-pilots';
export * from './qpsk-spreading';
export * from './qnn-signatures';
export * from './mulvae-encoder';

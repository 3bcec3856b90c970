/**
 * Every detector plugin of this package, one line each, in registration order (the order of
 * `gfra list` and of the schema). A new plugin is one more line here; `index.ts` registers what
 * this module exports (`pluginClassesIn`).
 */
export * from './correlation-energy';
export * from './scma-mpa';
export * from './mlp-activity';
export * from './mmv-amp';
export * from './covariance-ml';
export * from './exhaustive-ml';
export * from './group-lasso';
export * from './group-lasso-unfolded';
export * from './amp-unfolded';
export * from './dl-mampnet';
export * from './map-unfolded';
export * from './covariance-lasso';
export * from './sicnn';
export * from './fcnn-mud';
export * from './matched-filter';
export * from './mmse-sic';
export * from './oracle-ls';
export * from './mulvae';
export * from './e2e-autoencoder-rx';
export * from './score-langevin';
export * from './lmmse';

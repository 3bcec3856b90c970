import 'reflect-metadata';

export * as cx from './complex';
export type { ComplexTensor } from './complex';
export * from './errors';
export * from './rng';
export * from './stats';
export * from './scenario';
export * from './shapes';
export * from './schema-defaults';
export * from './plugin';
export * from './registry';
export * from './backend';
export * from './montecarlo/accumulators';
export * from './standard';
export { BernoulliTraffic, BernoulliParams } from './traffic/bernoulli';
export { FixedCountTraffic, FixedCountParams } from './traffic/fixed-count';
export { ActivityMetric } from './metrics/activity';
export { SerMetric } from './metrics/ser';

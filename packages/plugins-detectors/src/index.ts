import 'reflect-metadata';
import type { PluginClass, Registry } from '@gfra/core';
import { CorrelationEnergyDetector } from './correlation-energy';
import { ScmaMpaDetector } from './scma-mpa';
import { MlpActivityDetector } from './mlp-activity';
import { MmvAmpDetector } from './mmv-amp';
import { CovarianceMlDetector } from './covariance-ml';
import { ExhaustiveMlDetector } from './exhaustive-ml';
import { GroupLassoDetector } from './group-lasso';
import { GroupLassoUnfoldedDetector } from './group-lasso-unfolded';
import { AmpUnfoldedDetector } from './amp-unfolded';
import { DlMampnetDetector } from './dl-mampnet';
import { MapUnfoldedDetector } from './map-unfolded';
import { CovarianceLassoDetector } from './covariance-lasso';

export { CorrelationEnergyDetector, CorrelationEnergyParams } from './correlation-energy';
export { ScmaMpaDetector, ScmaMpaParams } from './scma-mpa';
export { MlpActivityDetector, MlpActivityParams } from './mlp-activity';
export { MmvAmpDetector, MmvAmpParams } from './mmv-amp';
export { CovarianceMlDetector, CovarianceMlParams } from './covariance-ml';
export { ExhaustiveMlDetector, ExhaustiveMlParams, hypothesisCount } from './exhaustive-ml';
export { GroupLassoDetector, GroupLassoParams } from './group-lasso';
export { GroupLassoUnfoldedDetector, GroupLassoUnfoldedParams } from './group-lasso-unfolded';
export { AmpUnfoldedDetector, AmpUnfoldedParams } from './amp-unfolded';
export { DlMampnetDetector, DlMampnetParams, poolUnpool } from './dl-mampnet';
export { MapUnfoldedDetector, MapUnfoldedParams } from './map-unfolded';
export { CovarianceLassoDetector, CovarianceLassoParams } from './covariance-lasso';
export { PowerThreshold, bestSequence, decideActivity, powerScore, rowEnergyEstimate } from './decision';
export * from './algorithms';

/** Every detector plugin of this package, one per line. */
export const detectorPlugins: readonly PluginClass[] = [
  CorrelationEnergyDetector,
  ScmaMpaDetector,
  MlpActivityDetector,
  MmvAmpDetector,
  CovarianceMlDetector,
  ExhaustiveMlDetector,
  GroupLassoDetector,
  GroupLassoUnfoldedDetector,
  AmpUnfoldedDetector,
  DlMampnetDetector,
  MapUnfoldedDetector,
  CovarianceLassoDetector,
];

/** Register this package's plugins in `registry` (no side effects on import). */
export function registerDetectors(registry: Registry): Registry {
  return registry.registerAll(detectorPlugins);
}

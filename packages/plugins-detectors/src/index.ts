import 'reflect-metadata';
import type { PluginClass, Registry } from '@gfra/core';
import { CorrelationEnergyDetector } from './correlation-energy';
import { MmvAmpDetector } from './mmv-amp';
import { CovarianceMlDetector } from './covariance-ml';
import { ExhaustiveMlDetector } from './exhaustive-ml';
import { ScmaMpaDetector } from './scma-mpa';
import { MlpActivityDetector } from './mlp-activity';
import { GroupLassoDetector } from './group-lasso';
import { GroupLassoUnfoldedDetector } from './group-lasso-unfolded';
import { AmpUnfoldedDetector } from './amp-unfolded';
import { DlMampnetDetector } from './dl-mampnet';
import { MapUnfoldedDetector } from './map-unfolded';
import { CovarianceLassoDetector } from './covariance-lasso';

export { CorrelationEnergyDetector, CorrelationEnergyParams } from './correlation-energy';
export { MmvAmpDetector, MmvAmpParams, bernoulliGaussianDenoiser } from './mmv-amp';
export { CovarianceMlDetector, CovarianceMlParams, covarianceCdTf } from './covariance-ml';
export { MapUnfoldedDetector, MapUnfoldedParams } from './map-unfolded';
export { CovarianceLassoDetector, CovarianceLassoParams, covarianceLassoHost } from './covariance-lasso';
export { ExhaustiveMlDetector, ExhaustiveMlParams, hypothesisCount } from './exhaustive-ml';
export { ScmaMpaDetector, ScmaMpaParams } from './scma-mpa';
export { MlpActivityDetector, MlpActivityParams } from './mlp-activity';
export { DlMampnetDetector, DlMampnetParams, scalarBgDenoiser, poolUnpool } from './dl-mampnet';
export { GroupLassoDetector, GroupLassoParams, groupLassoAdmm, groupLassoBcd, groupLassoObjective } from './group-lasso';
export { GroupLassoUnfoldedDetector, GroupLassoUnfoldedParams } from './group-lasso-unfolded';
export { AmpUnfoldedDetector, AmpUnfoldedParams, ampUnrolled } from './amp-unfolded';

/** Every detector plugin of this package. */
export const detectorPlugins: readonly PluginClass[] = [CorrelationEnergyDetector, ScmaMpaDetector, MlpActivityDetector, MmvAmpDetector, CovarianceMlDetector, ExhaustiveMlDetector, GroupLassoDetector, GroupLassoUnfoldedDetector, AmpUnfoldedDetector, DlMampnetDetector, MapUnfoldedDetector, CovarianceLassoDetector];

/** Register this package's plugins in `registry` (no side effects on import). */
export function registerDetectors(registry: Registry): Registry {
  return registry.registerAll(detectorPlugins);
}

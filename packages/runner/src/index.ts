/**
 * @gfra/runner: spec -> plan -> train -> engine -> results, and the `gfra` CLI.
 *
 *   spec/     reading specs, the schema assembled from the registry, validation, sweeps
 *   plan/     the only caller of plugin descriptors: one PlannedJob per (point, candidate)
 *   train/    training of planned candidates, artifacts by content hash
 *   engine/   pipeline, Monte Carlo loop, threshold fitting, executors and the pool worker
 *   results/  the results.json format (one module), reading it back, statistic descriptions,
 *             the results store (DIR/results.duckdb) and the output folder's lock
 *   run.ts    plan -> train -> engine -> results for one spec
 *   cli/, plot/, report/   commands, figures and the HTML report (they read results, not the registry)
 */
export * from './spec/schema';
export * from './spec/validate';
export * from './spec/sweep';
export * from './spec/canonical';
export * from './spec/plugins';
export * from './plan/plan';
export * from './plan/load';
export * from './plan/training';
export * from './engine/pipeline';
export * from './engine/montecarlo';
export * from './engine/events';
export * from './results/format';
export * from './results/store';
export * from './results/lock';
export * from './run';
export * from './train/train';
export * from './cli/export';
export * from './cli/list';
export { main } from './cli';

/**
 * report/: one self-contained interactive HTML report of one or more runs, from their results.json
 * files: charts with selectors, tables, the specs (`gfra report`).
 */
export * from './assets';
export * from './html';
export * from './charts';
export * from './sections';
export * from './report';
export * from './compare';

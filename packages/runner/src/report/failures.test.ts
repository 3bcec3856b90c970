import { expect } from 'chai';
import type { PlotRun } from '../plot/rows';
import type { JobFailure, JobResult } from '../results/format';
import { resultsTable } from './sections';

describe('report: jobs that failed', () => {
  const result: JobResult = {
    candidate: 'a',
    point: { 'channel.params.snrDb': 0 },
    trials: 100,
    seconds: 1,
    stop: 'max-trials',
    metrics: { pmd: { value: 0.1, low: 0.05, high: 0.2, events: 10, samples: 100 } },
  };
  const failure: JobFailure = {
    candidate: 'b',
    point: { 'channel.params.snrDb': 10 },
    message: '[detector:x] candidates.b.detector: detect failed: not positive definite',
    plugin: 'detector:x',
    path: 'candidates.b.detector',
  };
  const run = (failures: JobFailure[]) =>
    ({ label: 'r', data: { name: 'r', seed: 1, spec: { candidates: { a: {}, b: { label: 'Method B' } } }, results: [result], failures, complete: true } }) as unknown as PlotRun;

  it('has a row per failed job (stop "failed", the message on hover) and lists the messages', () => {
    const html = resultsTable(run([failure]));
    const row = html.split('\n').find((l) => l.includes('class="failed"')) as string;
    expect(row, html).to.be.a('string');
    expect(row).to.contain('data-series="Method B"');
    expect(row).to.match(/>10</);
    expect(row).to.contain(`title="${failure.message}"`);
    expect(row).to.contain('>failed<');
    expect(html).to.contain('Jobs that failed');
    expect(html).to.contain('&quot;b&quot; at snrDb=10: [detector:x] candidates.b.detector: detect failed: not positive definite');
  });

  it('has neither without failures', () => {
    const html = resultsTable(run([]));
    expect(html).to.not.contain('class="failed"');
    expect(html).to.not.contain('Jobs that failed');
  });
});

import { expect } from 'chai';
import type { PlotRun } from '../plot/rows';
import { resultsTable } from '../report/sections';
import { skippedLines, skippedText, type JobResult } from './format';

describe('results format: trials left out (skipped)', () => {
  const result = (candidate: string, skipped?: { undefined: number; nonFinite: number }): JobResult => ({
    candidate,
    point: { 'channel.params.snrDb': 200 },
    trials: 500,
    seconds: 1,
    stop: 'max-trials',
    metrics: {
      pmd: { value: 0.1, low: 0.05, high: 0.15, events: 10, samples: 100 },
      nmse: { value: 0.2, low: 0.1, high: 0.3, events: null, samples: 400, ...(skipped === undefined ? {} : { skipped }) },
    },
  });

  it('says how many trials each statistic left out and why, and nothing when none were', () => {
    expect(skippedText(undefined)).to.equal('');
    expect(skippedText({ undefined: 0, nonFinite: 0 })).to.equal('');
    expect(skippedText({ undefined: 67, nonFinite: 3 })).to.equal('67 undefined by definition, 3 non-finite');
    expect(skippedLines([result('clean'), result('nan', { undefined: 67, nonFinite: 3 })])).to.deep.equal([
      'trials left out, "nan" at snrDb=200: nmse: 67 undefined by definition, 3 non-finite',
    ]);
  });

  it('the report marks a value with non-finite trials left out, and says it on hover', () => {
    const run = { label: 'r', data: { name: 'r', seed: 1, spec: {}, results: [result('nan', { undefined: 0, nonFinite: 3 })], complete: true } } as unknown as PlotRun;
    const html = resultsTable(run);
    expect(html).to.include('>0.2 *</td>');
    expect(html).to.include('title="400 trials; trials left out: 3 non-finite"');
  });
});

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSpec } from '../plan/load';
import { runSpec } from '../run';
import { formatTable } from './format';
import { plottedResults, poolValues } from './repetitions';

describe('repetitions', function () {
  this.timeout(300000);

  it('pools per-repetition values into their mean with a t-interval over repetitions (by hand)', () => {
    // Values 0.1, 0.2, 0.3: mean 0.2, sample sd 0.1; t(0.975, 2 df) = 4.302653, so the half-width
    // is 4.302653 * 0.1 / sqrt(3) = 0.2484138.
    const p = poolValues([0.1, 0.2, null, 0.3], 0.95);
    expect(p.repetitions).to.equal(3);
    expect(p.value).to.be.closeTo(0.2, 1e-15);
    expect(p.sd).to.be.closeTo(0.1, 1e-15);
    expect(p.low).to.be.closeTo(0.2 - 0.2484138, 1e-6);
    expect(p.high).to.be.closeTo(0.2 + 0.2484138, 1e-6);
    expect([p.min, p.max]).to.deep.equal([0.1, 0.3]);
    // One repetition: a value, no interval.
    expect(poolValues([0.4], 0.95)).to.deep.include({ value: 0.4, low: null, high: null, sd: null });
    // A rate's interval stays in [0, 1]: 0.001, 0.002, 0.006 has mean 0.003, sd 0.002646, half-width
    // 4.302653 * 0.002646 / sqrt(3) = 0.006572, so the t-interval starts at -0.00357.
    const rate = poolValues([0.001, 0.002, 0.006], 0.95, true);
    expect(rate.low).to.equal(0);
    expect(rate.high).to.be.closeTo(0.003 + 0.006572, 1e-6);
    expect(poolValues([0.001, 0.002, 0.006], 0.95).low).to.be.closeTo(0.003 - 0.006572, 1e-6);
    // No error in any repetition: not [0, 0], but the union of the repetitions' own intervals.
    const zeros = poolValues([0, 0, 0], 0.95, true, [
      { low: 0, high: 0.0019 },
      { low: 0, high: 0.0021 },
      { low: 0, high: 0.002 },
    ]);
    expect(zeros).to.deep.include({ value: 0, low: 0, high: 0.0021, sd: 0, repetitions: 3 });
  });

  it('R = 3 on the quick start: per-repetition and pooled rows, identical whatever the batch size or worker count', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-reps-'));
    const quick = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../../examples/quickstart.json'), 'utf8')) as Record<string, unknown>;
    delete quick.$schema;
    const write = (batchSize: number) => {
      const file = path.join(dir, `spec-${batchSize}.json`);
      const spec = {
        ...quick,
        sweep: { 'scenario.sequenceLength': [10, 40] },
        montecarlo: { batchSize, targetEvents: 60, maxTrials: 300, maxSeconds: 1e6, repetitions: 3 },
      };
      fs.writeFileSync(file, JSON.stringify(spec));
      return file;
    };
    const a = await runSpec(loadSpec(write(200)), { out: path.join(dir, 'a'), backend: 'wasm' });
    const b = await runSpec(loadSpec(write(64)), { out: path.join(dir, 'b'), backend: 'wasm', workers: 2 });
    const strip = (r: typeof a.results) => ({
      results: r.results.map((x) => ({ ...x, seconds: 0, detectorTime: undefined })),
      pooled: r.pooled,
    });
    expect(strip(b.results)).to.deep.equal(strip(a.results));
    const { results, pooled = [] } = a.results;
    // 2 points x 2 candidates x 3 repetitions, in plan order; one pooled row per (point, candidate).
    expect(results.map((r) => r.repetition)).to.deep.equal([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(pooled).to.have.length(4);
    expect(pooled[0].repetitions).to.equal(3);
    expect(pooled[0].trials).to.equal(results[0].trials + results[1].trials + results[2].trials);
    expect(pooled[0].metrics.pmd.value).to.be.closeTo((results[0].metrics.pmd.value! + results[1].metrics.pmd.value! + results[2].metrics.pmd.value!) / 3, 1e-15);
    // The repetitions are different runs (their own pilot matrices and trials).
    expect(new Set(results.slice(0, 3).map((r) => r.metrics.pmd.value)).size).to.equal(3);
    const table = formatTable(results, [], pooled).split('\n');
    expect(table[0]).to.match(/^candidate\s+sequenceLength\s+rep\s+trials/);
    expect(table.filter((l) => / mean of 3 /.test(l))).to.have.length(4);
    expect(table[2]).to.match(/^energy-fa\s+10\s+0\s/);
    expect(table[5]).to.match(/^energy-fa\s+10\s+mean of 3\s+\d+\s+\S.* sd /);
    // Plots and the report draw one point per (point, candidate): the pooled mean and t-interval.
    const drawn = plottedResults(a.results);
    expect(drawn).to.have.length(4);
    expect(drawn[0]).to.deep.include({ candidate: 'energy-fa', repetitions: 3, trials: pooled[0].trials });
    expect(drawn[0].metrics.pmd).to.deep.include({ value: pooled[0].metrics.pmd.value, low: pooled[0].metrics.pmd.low, events: null });
  });
});

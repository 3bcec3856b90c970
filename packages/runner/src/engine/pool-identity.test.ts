import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blas, resetBlasForTests } from '@gfra/core';
import { loadSpec } from '../plan/load';
import { autoWorkers, AUTO_POOL_MIN_TRIALS, runSpec } from '../run';
import { tinySpec } from '../testing';

/**
 * The host kernels (BLAS products through koffi, in worker threads too) give the same numbers
 * whatever the executor, worker count and batch size.
 */
describe('pool executor with the host kernels: identical numbers', () => {
  const spec = (batchSize: number) =>
    tinySpec({
      name: 'pool-identity',
      seed: 11,
      scenario: { numDevices: 60, numAntennas: 4, sequenceLength: 24, bitsPerDevice: 0 },
      traffic: { plugin: 'bernoulli', params: { activityProb: 0.1 } },
      candidates: {
        amp: { detector: { plugin: 'mmv-amp', params: { maxIterations: 20 } } },
        cov: { detector: { plugin: 'covariance-ml', params: { sweeps: 5 } } },
      },
      sweep: { 'channel.params.snrDb': [0, 10] },
      montecarlo: { batchSize, targetEvents: 1e9, maxTrials: 150, maxSeconds: 3600 },
    });

  it(`mmv-amp and covariance-ml: 2 worker threads with batches of 64 = this thread with batches of 50 (BLAS: ${blas().description})`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-pool-identity-'));
    const run = async (batchSize: number, workers: number) => {
      const file = path.join(dir, `spec-${batchSize}-${workers}.json`);
      fs.writeFileSync(file, JSON.stringify(spec(batchSize)));
      const out = await runSpec(loadSpec(file), { out: path.join(dir, `out-${batchSize}-${workers}`), backend: 'wasm', workers });
      return { environment: out.results.environment, results: out.results.results.map((r) => ({ ...r, seconds: 0, detectorTime: undefined })) };
    };
    const inline = await run(50, 1);
    const pool = await run(64, 2);
    expect(pool.environment?.executor).to.match(/^pool \(2 worker threads/);
    expect(inline.environment?.executor).to.equal('inline');
    // the WebAssembly kernels ran (Node >= 16.4 has WebAssembly SIMD), on both sides
    expect(inline.environment?.kernels).to.equal('WebAssembly SIMD');
    expect(pool.results).to.deep.equal(inline.results);
    expect(inline.results.map((r) => r.trials)).to.deep.equal([150, 150, 150, 150]);
  });

  it('--workers auto with --executor inline is refused, saying what to do', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-auto-inline-'));
    const file = path.join(dir, 'spec.json');
    fs.writeFileSync(file, JSON.stringify(spec(50)));
    let message = '';
    try {
      await runSpec(loadSpec(file), { out: path.join(dir, 'out'), backend: 'wasm', executor: 'inline', workers: 'auto' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.equal('--executor inline runs the jobs in this thread: leave out --workers auto (or use --executor pool)');
  });

  it('--workers auto: one worker per core (at most one per job) from 2 jobs and AUTO_POOL_MIN_TRIALS trials planned; else this thread', () => {
    expect(autoWorkers([AUTO_POOL_MIN_TRIALS / 2, AUTO_POOL_MIN_TRIALS / 2], 2)).to.equal(2);
    expect(autoWorkers([AUTO_POOL_MIN_TRIALS / 2, AUTO_POOL_MIN_TRIALS / 2 - 1], 2)).to.equal(1);
    expect(autoWorkers([10 * AUTO_POOL_MIN_TRIALS], 8)).to.equal(1);
    expect(autoWorkers([AUTO_POOL_MIN_TRIALS, AUTO_POOL_MIN_TRIALS, 0], 8)).to.equal(3);
    expect(autoWorkers([AUTO_POOL_MIN_TRIALS, AUTO_POOL_MIN_TRIALS], 1)).to.equal(1);
  });

  it('without a native BLAS the run goes on in JavaScript and says so once per process, with how to get the fast path', async function () {
    // (where this machine has no native BLAS, an earlier run in this process already gave the notice)
    if (!blas().native) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-no-blas-'));
    const file = path.join(dir, 'spec.json');
    fs.writeFileSync(file, JSON.stringify({ ...spec(50), candidates: { amp: { detector: { plugin: 'mmv-amp', params: { maxIterations: 5 } } } }, montecarlo: { batchSize: 50, targetEvents: 1e9, maxTrials: 50, maxSeconds: 600 } }));
    process.env.GFRA_BLAS_LIBRARY = path.join(dir, 'libnot-a-blas.so');
    resetBlasForTests();
    try {
      const warnings: string[] = [];
      const onProgress = (e: { type: string; message?: string }) => void (e.type === 'warning' && warnings.push(e.message ?? ''));
      const first = await runSpec(loadSpec(file), { out: path.join(dir, 'a'), backend: 'wasm', onProgress });
      await runSpec(loadSpec(file), { out: path.join(dir, 'b'), backend: 'wasm', onProgress });
      const notices = warnings.filter((w) => w.includes('BLAS_LIBRARY'));
      expect(notices, warnings.join('\n')).to.have.length(1);
      expect(notices[0]).to.include('the classical receivers run on the slower JavaScript path').and.include('apt-get install libopenblas0-pthread');
      expect(first.results.environment?.blas).to.equal('JavaScript');
      expect(first.results.results.map((r) => r.trials)).to.deep.equal([50, 50]);
    } finally {
      delete process.env.GFRA_BLAS_LIBRARY;
      resetBlasForTests();
    }
  });
});

/**
 * Shared draws (montecarlo.draws "shared", the default): every random draw is keyed by (seed,
 * point, [repetition], slot, draw name, trial), so candidates that differ only in the detector,
 * in `normalize`, or in `trainable` see bitwise-identical traffic, fading, noise and base pilot
 * draws; "independent" gives each candidate its own streams; repetitions have their own draws.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { container } from 'tsyringe';
import { builtinRegistry } from '../spec/plugins';
import { planObject } from '../plan/load';
import type { PlannedJob } from '../plan/plan';
import { tinySpec } from '../testing';
import { Pipeline } from './pipeline';

const TRIALS = { first: 5, count: 12 };

/** One batch's upstream draws and codebook of a job, downloaded (disposed on return). */
async function drawsOf(job: PlannedJob) {
  const registry = builtinRegistry();
  const pipeline = new Pipeline(registry, job.pipeline, container);
  try {
    await pipeline.prepare();
    const b = pipeline.forward(TRIALS);
    const codebook = b.observation.codebook;
    if (codebook === undefined) throw new Error('no codebook granted');
    // The noise: y minus the noiseless received signal sum_n tx[n,l] h[n,m] (block fading).
    const noise = tf.tidy(() => {
      const { tx, channel: out } = b;
      const h = out.channel;
      const re = tf.sub(tf.matMul(tx.re, h.re, true, false), tf.matMul(tx.im, h.im, true, false));
      const im = tf.add(tf.matMul(tx.re, h.im, true, false), tf.matMul(tx.im, h.re, true, false));
      return { re: tf.sub(out.y.re, re), im: tf.sub(out.y.im, im) };
    });
    const out = {
      activity: Array.from(await b.traffic.activity.data()),
      message: Array.from(await b.traffic.message.data()),
      fadingRe: Array.from(await b.channel.channel.re.data()),
      fadingIm: Array.from(await b.channel.channel.im.data()),
      noiseRe: Array.from(await noise.re.data()),
      noiseIm: Array.from(await noise.im.data()),
      yRe: Array.from(await b.channel.y.re.data()),
      codebookRe: Array.from(await codebook.re.data()),
      codebookIm: Array.from(await codebook.im.data()),
    };
    tf.dispose([noise.re, noise.im, b.tx.re, b.tx.im, b.channel.y.re, b.channel.y.im, b.channel.channel.re, b.channel.channel.im, b.channel.largeScaleFading]);
    tf.dispose(Object.values(b.traffic) as tf.Tensor[]);
    tf.dispose(Object.values(b.estimate).flatMap((v) => (v instanceof tf.Tensor ? [v] : v === undefined ? [] : [v.re, v.im])));
    return out;
  } finally {
    pipeline.dispose();
  }
}

/** Columns of a [L, K] (row-major) complex matrix scaled to unit norm, in float64. */
function normalisedColumns(re: number[], im: number[], L: number): { re: number[]; im: number[] } {
  const K = re.length / L;
  const outRe = re.slice();
  const outIm = im.slice();
  for (let k = 0; k < K; k++) {
    let norm = 0;
    for (let l = 0; l < L; l++) norm += re[l * K + k] ** 2 + im[l * K + k] ** 2;
    for (let l = 0; l < L; l++) {
      outRe[l * K + k] = re[l * K + k] / Math.sqrt(norm);
      outIm[l * K + k] = im[l * K + k] / Math.sqrt(norm);
    }
  }
  return { re: outRe, im: outIm };
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).to.equal(b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
}

describe('shared draws', function () {
  this.timeout(60000);
  const candidates = {
    raw: { detector: { plugin: 'correlation-energy' } },
    'raw-amp': { detector: { plugin: 'mmv-amp', params: { maxIterations: 3 } } },
    normalised: { encoder: { plugin: 'gaussian-pilots', params: { normalize: true } }, detector: { plugin: 'correlation-energy' } },
    learned: { encoder: { plugin: 'learned-pilots' }, detector: { plugin: 'correlation-energy' } },
    frozen: { encoder: { plugin: 'learned-pilots', params: { trainable: false } }, detector: { plugin: 'correlation-energy' } },
  };
  const plan = (montecarlo: Record<string, unknown> = {}) =>
    planObject(tinySpec({ candidates, channel: { plugin: 'rayleigh', params: { snrDb: 5 } }, montecarlo: { batchSize: 16, maxTrials: 64, maxSeconds: 60, ...montecarlo } }), 'spec.json', builtinRegistry()).jobs;

  it('candidates that differ in detector, normalize or trainable see identical traffic, fading, noise and base pilot draw', async () => {
    const jobs = plan();
    const by = Object.fromEntries(await Promise.all(jobs.map(async (j) => [j.candidate, await drawsOf(j)] as const)));
    for (const name of Object.keys(candidates)) {
      // Traffic and fading are drawn before any pilot enters: bitwise identical.
      expect(by[name].activity, name).to.deep.equal(by.raw.activity);
      expect(by[name].message, name).to.deep.equal(by.raw.message);
      expect(by[name].fadingRe, name).to.deep.equal(by.raw.fadingRe);
      expect(by[name].fadingIm, name).to.deep.equal(by.raw.fadingIm);
      // The noise is recovered as y - sum tx h, exact up to float32 rounding of that sum (|y| is
      // O(10) at 5 dB with 4 active devices of unit-norm-in-expectation pilots, eps32 = 1.2e-7,
      // so ~1e-5 bounds the rounding; a different noise draw differs by O(0.5)).
      expect(maxAbsDiff(by[name].noiseRe, by.raw.noiseRe), name).to.be.below(1e-4);
      expect(maxAbsDiff(by[name].noiseIm, by.raw.noiseIm), name).to.be.below(1e-4);
    }
    // Same encoder, different detector: the received signal itself is bitwise identical.
    expect(by['raw-amp'].yRe).to.deep.equal(by.raw.yRe);
    // The base pilot draw: normalize and learned-pilots' initial (normalised) codebook are the raw
    // draw with unit-norm columns (float32 rounding: 1e-6); frozen and trainable start equal.
    const L = 8;
    const unit = normalisedColumns(by.raw.codebookRe, by.raw.codebookIm, L);
    for (const name of ['normalised', 'learned', 'frozen']) {
      expect(maxAbsDiff(by[name].codebookRe, unit.re), name).to.be.below(1e-6);
      expect(maxAbsDiff(by[name].codebookIm, unit.im), name).to.be.below(1e-6);
    }
    expect(by.frozen.codebookRe).to.deep.equal(by.learned.codebookRe);
    // The stream keys themselves: one root and one key per slot for every candidate.
    for (const j of jobs) expect(j.pipeline.streams).to.deep.equal(jobs[0].pipeline.streams);
  });

  it('"independent" gives each candidate its own traffic, fading and pilots', async () => {
    const jobs = plan({ draws: 'independent' });
    const a = await drawsOf(jobs[0]);
    const b = await drawsOf(jobs[2]); // normalised: another candidate, the same draw names
    expect(a.activity).to.not.deep.equal(b.activity);
    expect(a.fadingRe).to.not.deep.equal(b.fadingRe);
    const unit = normalisedColumns(a.codebookRe, a.codebookIm, 8);
    expect(maxAbsDiff(b.codebookRe, unit.re)).to.be.above(0.01);
  });

  it('repetitions have independent draws; repetition 0 is the run without repetitions', async () => {
    const one = plan();
    const three = plan({ repetitions: 3 });
    expect(three.map((j) => [j.candidate, j.repetition]).slice(0, 4)).to.deep.equal([
      ['raw', 0],
      ['raw', 1],
      ['raw', 2],
      ['raw-amp', 0],
    ]);
    const [r0, r1, r2] = await Promise.all(three.slice(0, 3).map(drawsOf));
    const base = await drawsOf(one[0]);
    expect(r0).to.deep.equal(base);
    expect(r1.activity).to.not.deep.equal(r0.activity);
    expect(r2.codebookRe).to.not.deep.equal(r1.codebookRe);
    expect(r1.fadingRe).to.not.deep.equal(r0.fadingRe);
    // Candidates share the draws of the same repetition.
    expect(await drawsOf(three[4])).to.deep.include({ activity: r1.activity, fadingRe: r1.fadingRe });
  });
});

import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { RandomStreams, type Scenario } from '@gfra/core';
import { ExhaustiveMlDetector, hypothesisCount, type ExhaustiveMlParams } from './exhaustive-ml';
import { covarianceObjective } from './testing/covariance-reference';
import { synthetic } from './testing/synthetic';

const params = (p: Partial<ExhaustiveMlParams> = {}): ExhaustiveMlParams => ({
  model: 'noncoherent',
  criterion: 'map',
  activity: 'unknown',
  maxHypotheses: 4096,
  ...p,
});

/** All hypotheses as arrays of -1 (inactive) or message q, device 0 first. */
function hypotheses(N: number, Q: number, allActive = false): number[][] {
  let out: number[][] = [[]];
  for (let n = 0; n < N; n++) {
    const options = allActive ? [...Array(Q).keys()] : [-1, ...Array(Q).keys()];
    out = out.flatMap((h) => options.map((o) => [...h, o]));
  }
  return out;
}

function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  return m === -Infinity ? m : m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}

/** Brute-force posterior over hypotheses with a given log-likelihood: argmax and activity log-odds. */
function bruteForce(N: number, Q: number, eps: number, logLik: (h: number[]) => number, criterion: 'map' | 'ml') {
  const hs = hypotheses(N, Q);
  const score = hs.map((h) => logLik(h) + (criterion === 'map' ? h.reduce((a, q) => a + (q < 0 ? Math.log(1 - eps) : Math.log(eps / Q)), 0) : 0));
  const best = hs[score.indexOf(Math.max(...score))];
  const odds = [...Array(N).keys()].map((n) => {
    const on = score.filter((_, i) => hs[i][n] >= 0);
    const off = score.filter((_, i) => hs[i][n] < 0);
    return logSumExp(on) - logSumExp(off);
  });
  return { best, odds };
}

describe('detector:exhaustive-ml', () => {
  it('refuses large systems at validation with a clear message', () => {
    const check = ExhaustiveMlDetector.plugin.check;
    const big: Scenario = { numDevices: 12, numAntennas: 4, sequenceLength: 8, bitsPerDevice: 1 };
    const problems = check?.(params(), big) ?? [];
    expect(problems).to.have.length(1);
    expect(problems[0].message).to.equal(
      'exhaustive-ml evaluates (Q+1)^N = 3^12 = 531441 hypotheses per trial; keep it at most maxHypotheses = 4096: reduce numDevices or bitsPerDevice',
    );
    expect(problems[0].hint).to.equal('Use exhaustive-ml only on tiny systems (e.g. N <= 7 at J = 1), or raise maxHypotheses if you can wait');
    expect(check?.(params({ activity: 'all-active' }), { ...big, numDevices: 6, bitsPerDevice: 2 })).to.deep.equal([]); // 4^6 = 4096
    expect(check?.(params(), { ...big, numDevices: 6, bitsPerDevice: 2 })[0].message).to.match(/\(Q\+1\)\^N = 5\^6 = 15625 hypotheses/);
    expect(check?.(params({ maxHypotheses: 20000 }), { ...big, numDevices: 6, bitsPerDevice: 2 })).to.deep.equal([]);
    expect(hypothesisCount(params(), { ...big, numDevices: 3, bitsPerDevice: 2 })).to.equal(125);
  });

  it('noncoherent: decisions and activity posteriors equal brute force with the Cholesky log-likelihood (N = 4, Q = 2, L = 3, M = 3)', () => {
    const scenario: Scenario = { numDevices: 4, numAntennas: 3, sequenceLength: 3, bitsPerDevice: 1 };
    const B = 12;
    const data = synthetic({ scenario, trials: B, activityProb: 0.4, snrDb: [0, 12], key: 'nc' });
    for (const criterion of ['map', 'ml'] as const) {
      const est = tf.tidy(() => {
        const e = new ExhaustiveMlDetector(params({ criterion }), scenario).detect(data.observation());
        return { activity: e.activity?.arraySync() as number[][], message: e.message?.arraySync() as number[][], score: e.activityScore?.arraySync() as number[][] };
      });
      for (let b = 0; b < B; b++) {
        const logLik = (h: number[]) => {
          const gamma = new Array(8).fill(0);
          h.forEach((q, n) => q >= 0 && (gamma[n * 2 + q] = data.beta[n]));
          return -3 * covarianceObjective(gamma, data.pilots, data.y[b], 3, 3, 1);
        };
        const ref = bruteForce(4, 2, 0.4, logLik, criterion);
        expect(est.activity[b], `${criterion} trial ${b}`).to.deep.equal(ref.best.map((q) => (q >= 0 ? 1 : 0)));
        expect(est.message[b], `${criterion} trial ${b}`).to.deep.equal(ref.best.map((q) => Math.max(q, 0)));
        est.score[b].forEach((s, n) => expect(s, `${criterion} trial ${b} device ${n}`).to.be.closeTo(ref.odds[n], 1e-3 * Math.max(1, Math.abs(ref.odds[n]))));
      }
    }
  });

  it('coherent: equals brute force on ||Y - sum_n h_n .* x_n||^2 for block [B, N, M] and per-resource [B, N, L, M] channels', () => {
    const [N, L, M, Q] = [3, 4, 2, 4];
    const scenario: Scenario = { numDevices: N, numAntennas: M, sequenceLength: L, bitsPerDevice: 2 };
    const B = 6;
    const rnd = new RandomStreams(['coherent']);
    const sigma2 = 0.5;
    for (const perResource of [false, true]) {
      const trials = { first: 0, count: B };
      const hShape = perResource ? [N, L, M] : [N, M];
      const h = rnd.complexNormal(trials, `h${perResource}`, hShape);
      const codebook = rnd.complexNormalOnce(`s${perResource}`, [L, N * Q], 1 / L);
      const y = rnd.complexNormal(trials, `y${perResource}`, [L, M], 2);
      const eps = 0.5;
      const obs = { y, codebook, channel: h, noiseVar: sigma2, activityProbability: tf.fill([N], eps) as tf.Tensor1D };
      const est = tf.tidy(() => {
        const e = new ExhaustiveMlDetector(params({ model: 'coherent' }), scenario).detect(obs);
        return { activity: e.activity?.arraySync() as number[][], message: e.message?.arraySync() as number[][], score: e.activityScore?.arraySync() as number[][], llr: e.bitLLR?.arraySync() as number[][][] };
      });
      const [hr, hi] = [h.re.dataSync(), h.im.dataSync()];
      const [sr, si] = [codebook.re.dataSync(), codebook.im.dataSync()];
      const [yr, yi] = [y.re.dataSync(), y.im.dataSync()];
      for (let b = 0; b < B; b++) {
        const logLik = (hyp: number[]) => {
          let e = 0;
          for (let l = 0; l < L; l++) {
            for (let m = 0; m < M; m++) {
              let rr = yr[(b * L + l) * M + m];
              let ri = yi[(b * L + l) * M + m];
              hyp.forEach((q, n) => {
                if (q < 0) return;
                const k = n * Q + q;
                const hIdx = perResource ? ((b * N + n) * L + l) * M + m : (b * N + n) * M + m;
                const [a, c] = [sr[l * N * Q + k], si[l * N * Q + k]];
                rr -= a * hr[hIdx] - c * hi[hIdx];
                ri -= a * hi[hIdx] + c * hr[hIdx];
              });
              e += rr * rr + ri * ri;
            }
          }
          return -e / sigma2;
        };
        const ref = bruteForce(N, Q, eps, logLik, 'map');
        expect(est.activity[b], `trial ${b}`).to.deep.equal(ref.best.map((q) => (q >= 0 ? 1 : 0)));
        expect(est.message[b], `trial ${b}`).to.deep.equal(ref.best.map((q) => Math.max(q, 0)));
        est.score[b].forEach((s, n) => expect(s).to.be.closeTo(ref.odds[n], 1e-3 * Math.max(1, Math.abs(ref.odds[n]))));
        // bit LLRs given active: bit 0 (MSB) of message q is q >> 1
        const hs = hypotheses(N, Q);
        const post = hs.map((hyp) => logLik(hyp) + hyp.reduce((a, q) => a + (q < 0 ? Math.log(1 - eps) : Math.log(eps / Q)), 0));
        for (let n = 0; n < N; n++) {
          for (let j = 0; j < 2; j++) {
            const bit = (q: number) => (q >> (1 - j)) & 1;
            const one = logSumExp(post.filter((_, i) => hs[i][n] >= 0 && bit(hs[i][n]) === 1));
            const zero = logSumExp(post.filter((_, i) => hs[i][n] >= 0 && bit(hs[i][n]) === 0));
            expect(est.llr[b][n][j]).to.be.closeTo(one - zero, 1e-3 * Math.max(1, Math.abs(one - zero)));
          }
        }
      }
      tf.dispose([y.re, y.im, h.re, h.im, codebook.re, codebook.im, obs.activityProbability]);
    }
  });

  it('all-active mode: messages only (Q^N), exact with orthogonal pilots and no noise', () => {
    const scenario: Scenario = { numDevices: 3, numAntennas: 1, sequenceLength: 6, bitsPerDevice: 1 };
    // 6 orthonormal columns (unit vectors), known channels h_n = 1 + n
    const eye = tf.eye(6);
    const h = { re: tf.tensor3d([[[1], [2], [3]]]), im: tf.zeros([1, 3, 1]) };
    const messages = [1, 0, 1];
    const yRe = [0, 1, 2, 0, 0, 3].map((v) => [v]); // device n, message q -> column 2n + q scaled by h_n
    const obs = { y: { re: tf.tensor3d([yRe]), im: tf.zeros([1, 6, 1]) }, codebook: { re: eye, im: tf.zeros([6, 6]) }, channel: h, noiseVar: 0.01 };
    tf.tidy(() => {
      const est = new ExhaustiveMlDetector(params({ model: 'coherent', activity: 'all-active' }), scenario).detect(obs);
      expect(est.message?.arraySync()).to.deep.equal([messages]);
      expect(est.activity?.arraySync()).to.deep.equal([[1, 1, 1]]);
      const llr = est.bitLLR?.arraySync() as number[][][];
      messages.forEach((m, n) => expect(Math.sign(llr[0][n][0])).to.equal(m === 1 ? 1 : -1));
    });
    expect(ExhaustiveMlDetector.plugin.requires?.(params({ model: 'coherent', activity: 'all-active' }), scenario)).to.deep.equal(['codebook', 'noiseVariance', 'channelState']);
    expect(ExhaustiveMlDetector.plugin.requires?.(params(), scenario)).to.deep.equal(['codebook', 'noiseVariance', 'largeScaleFading', 'activityProbability']);
    tf.dispose([eye, h.re, h.im, obs.y.re, obs.y.im, obs.codebook.im]);
  });
});

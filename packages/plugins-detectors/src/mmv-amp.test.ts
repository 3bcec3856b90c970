import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { cx, logGamma, type Scenario } from '@gfra/core';
import { bernoulliGaussianDenoiser } from './algorithms/amp';
import { MmvAmpDetector, type MmvAmpParams } from './mmv-amp';
import { synthetic } from './testing/synthetic';

const params = (p: Partial<MmvAmpParams> = {}): MmvAmpParams => ({
  maxIterations: 50,
  noiseEstimate: 'residual',
  onsager: 'matrix',
  threshold: { rule: 'map' },
  ...p,
});

/** The denoiser on host numbers (one row): E[x | z] = phi omega z, and its pieces. */
function denoise(energy: number, beta: number, tau2: number, M: number, p: number) {
  return tf.tidy(() => {
    const out = bernoulliGaussianDenoiser(tf.scalar(energy), tf.scalar(beta), tf.scalar(tau2), M, tf.scalar(Math.log(p / (1 - p))));
    return { llr: out.llr.dataSync()[0], phi: out.phi.dataSync()[0], omega: out.omega.dataSync()[0], c: out.c.dataSync()[0] };
  });
}

/**
 * State evolution of MMV-AMP with the MMSE denoiser, by quadrature (independent of the detector):
 * tau_{t+1}^2 = sigma^2 + (1/L) sum_n E[phi omega tau^2 + phi (1 - phi) omega^2 ||z||^2 / M], the
 * expectation over ||z||^2 ~ (1 - eps) Gamma(M, tau^2) + eps Gamma(M, beta_n + tau^2) (the law of the
 * row energy of z = x + tau v), computed with Simpson's rule in u = ||z||^2 / scale ~ Gamma(M, 1).
 */
function stateEvolution(beta: readonly number[], eps: number, M: number, L: number, sigma2: number, iterations: number): number[] {
  const steps = 2000;
  const upper = M + 14 * Math.sqrt(M) + 20;
  const h = upper / steps;
  const gammaPdf = (u: number) => (u <= 0 ? 0 : Math.exp((M - 1) * Math.log(u) - u - logGamma(M)));
  const expectation = (f: (e: number) => number, scale: number) => {
    let s = 0;
    for (let i = 0; i <= steps; i++) {
      const u = i * h;
      const w = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
      s += w * f(scale * u) * gammaPdf(u);
    }
    return (s * h) / 3;
  };
  const taus = [sigma2 + beta.reduce((a, b) => a + eps * b, 0) / L]; // X_0 = 0: Z_0 - X = S^H Y - X
  for (let t = 1; t < iterations; t++) {
    const tau2 = taus[t - 1];
    let sum = 0;
    for (const b of beta) {
      const omega = b / (b + tau2);
      const posteriorVariance = (e: number) => {
        const logit = (b * e) / (tau2 * (b + tau2)) - M * Math.log1p(b / tau2) + Math.log(eps / (1 - eps));
        const phi = 1 / (1 + Math.exp(-logit));
        return phi * omega * tau2 + (phi * (1 - phi) * omega * omega * e) / M;
      };
      sum += (1 - eps) * expectation(posteriorVariance, tau2) + eps * expectation(posteriorVariance, b + tau2);
    }
    taus.push(sigma2 + sum / L);
  }
  return taus;
}

describe('detector:mmv-amp', () => {
  it('denoiser, M = 1: phi omega z equals the posterior mean of x ~ (1-p) delta_0 + p CN(0, beta) by numerical integration (rel 1e-3)', () => {
    const [beta, tau2, p] = [3, 0.7, 0.2];
    const grid = 300;
    const span = 9 * Math.sqrt(beta);
    const dx = (2 * span) / grid;
    for (const [zr, zi] of [[0.3, -0.2], [1.1, 0.9], [2.5, -1.7], [-0.1, 4]]) {
      // integral over x in C of x p(z | x) p(x), and of p(z | x) p(x) (the Gaussian part), on a grid
      let num = [0, 0];
      let mass = 0;
      for (let i = 0; i < grid; i++) {
        for (let j = 0; j < grid; j++) {
          const xr = -span + (i + 0.5) * dx;
          const xi = -span + (j + 0.5) * dx;
          const w = (Math.exp(-(xr * xr + xi * xi) / beta) / (Math.PI * beta)) * (Math.exp(-((zr - xr) ** 2 + (zi - xi) ** 2) / tau2) / (Math.PI * tau2)) * dx * dx;
          num = [num[0] + xr * w, num[1] + xi * w];
          mass += w;
        }
      }
      const inactive = Math.exp(-(zr * zr + zi * zi) / tau2) / (Math.PI * tau2);
      const evidence = (1 - p) * inactive + p * mass;
      const mean = [(p * num[0]) / evidence, (p * num[1]) / evidence];
      const d = denoise(zr * zr + zi * zi, beta, tau2, 1, p);
      expect(d.phi * d.omega * zr).to.be.closeTo(mean[0], 1e-3 * Math.hypot(mean[0], mean[1]) + 1e-6);
      expect(d.phi * d.omega * zi).to.be.closeTo(mean[1], 1e-3 * Math.hypot(mean[0], mean[1]) + 1e-6);
    }
  });

  it('denoiser, M = 2, 3: LLR = log CN(z; 0, (beta + tau^2) I) / CN(z; 0, tau^2 I) and phi = posterior P(active)', () => {
    for (const M of [2, 3]) {
      const [beta, tau2, p, energy] = [5, 1.3, 0.05, 9.2];
      const logDensity = (v: number) => -M * Math.log(Math.PI * v) - energy / v;
      const llr = logDensity(beta + tau2) - logDensity(tau2);
      const d = denoise(energy, beta, tau2, M, p);
      expect(d.llr).to.be.closeTo(llr, 1e-4 * Math.abs(llr));
      const posterior = (p * Math.exp(llr)) / (p * Math.exp(llr) + 1 - p);
      expect(d.phi).to.be.closeTo(posterior, 1e-5);
      expect(d.omega).to.be.closeTo(beta / (beta + tau2), 1e-6);
    }
  });

  it('denoiser Jacobian (the matrix Onsager term): d eta / dz = phi omega I + c z z^H (Wirtinger, central differences, rel 1e-3)', () => {
    const M = 3;
    const [beta, tau2, p] = [4, 1.1, 0.1];
    const z = { re: [1.2, -0.4, 0.9], im: [0.3, 1.5, -1.1] };
    const eta = (zr: number[], zi: number[]) => {
      const e = zr.reduce((a, v, i) => a + v * v + zi[i] * zi[i], 0);
      const d = denoise(e, beta, tau2, M, p);
      return { re: zr.map((v) => d.phi * d.omega * v), im: zi.map((v) => d.phi * d.omega * v) };
    };
    const e = z.re.reduce((a, v, i) => a + v * v + z.im[i] ** 2, 0);
    const d = denoise(e, beta, tau2, M, p);
    const step = 1e-3;
    for (let j = 0; j < M; j++) {
      const shift = (arr: number[], by: number) => arr.map((v, k) => (k === j ? v + by : v));
      const dRe = [eta(shift(z.re, step), z.im), eta(shift(z.re, -step), z.im)];
      const dIm = [eta(z.re, shift(z.im, step)), eta(z.re, shift(z.im, -step))];
      for (let i = 0; i < M; i++) {
        // d/dz = (d/dx - i d/dy) / 2
        const dxRe = (dRe[0].re[i] - dRe[1].re[i]) / (2 * step);
        const dxIm = (dRe[0].im[i] - dRe[1].im[i]) / (2 * step);
        const dyRe = (dIm[0].re[i] - dIm[1].re[i]) / (2 * step);
        const dyIm = (dIm[0].im[i] - dIm[1].im[i]) / (2 * step);
        const numeric = { re: (dxRe + dyIm) / 2, im: (dxIm - dyRe) / 2 };
        // phi omega delta_ij + c z_i conj(z_j)
        const formula = {
          re: (i === j ? d.phi * d.omega : 0) + d.c * (z.re[i] * z.re[j] + z.im[i] * z.im[j]),
          im: d.c * (z.im[i] * z.re[j] - z.re[i] * z.im[j]),
        };
        expect(numeric.re, `Re J[${i}][${j}]`).to.be.closeTo(formula.re, 2e-3 * Math.abs(d.phi * d.omega) + 1e-4);
        expect(numeric.im, `Im J[${i}][${j}]`).to.be.closeTo(formula.im, 2e-3 * Math.abs(d.phi * d.omega) + 1e-4);
      }
    }
  });

  it('state evolution (N = 200, L = 100, M = 8, eps = 0.1, SNR U[0, 20] dB): the effective noise Z_t - X has the predicted variance tau_t^2', () => {
    // Tolerances. (a) The residual estimate ||R_t||^2 / (L M) against the measured variance of
    // Z_t - X over the same trials: both are averages of ~K M B = 64,000 squared entries of the same
    // noise, so they agree to well under 1 %; we allow 2 %. (b) The measured variance against the
    // asymptotic state evolution (quadrature, no Monte Carlo error): SE is exact only as N -> oo; at
    // N = 200 the first iterations deviate by O(N^{-1/2}) ~ 7 % (measured: 4 %, 8 %, 3 %), so we allow
    // 12 % in the transient and 2 % at the fixed point (measured 0.7 %), plus 4 standard errors of the
    // mean over the 40 trials (per-trial spread of the measured variance, 2-4 % of it).
    const scenario: Scenario = { numDevices: 200, numAntennas: 8, sequenceLength: 100, bitsPerDevice: 0 };
    const B = 40;
    const T = 10;
    const data = synthetic({ scenario, trials: B, activityProb: 0.1, snrDb: [0, 20], key: 'se' });
    const se = stateEvolution(data.beta, 0.1, 8, 100, 1, T);
    const measured: { mean: number; se: number; tau: number }[] = [];
    tf.tidy(() => {
      const obs = data.observation();
      const rows = data.rows();
      new MmvAmpDetector(params({ maxIterations: T }), scenario).trace(obs, (it) => {
        const perTrial = Array.from(tf.mean(cx.abs2(cx.sub(it.z, rows)), [1, 2]).dataSync());
        const mean = perTrial.reduce((a, b) => a + b, 0) / B;
        const sd = Math.sqrt(perTrial.reduce((a, b) => a + (b - mean) ** 2, 0) / (B - 1));
        measured.push({ mean, se: sd / Math.sqrt(B), tau: tf.mean(it.tau2).dataSync()[0] });
      });
    });
    expect(measured).to.have.length(T);
    measured.forEach((m, t) => {
      expect(m.tau, `iteration ${t}: residual estimate vs measured`).to.be.closeTo(m.mean, 0.02 * m.mean);
      const rel = t < 4 ? 0.12 : 0.02;
      expect(m.mean, `iteration ${t}: measured vs state evolution ${se[t]}`).to.be.closeTo(se[t], rel * se[t] + 4 * m.se);
    });
    // it converged to the SE fixed point well below tau_0^2
    expect(se[T - 1]).to.be.below(0.25 * se[0]);
  });

  it('noiseEstimate "state-evolution": (33) equals sigma^2 + (1/L) sum_n eps beta_n, and the recursion tracks the measured noise (5 %)', () => {
    const scenario: Scenario = { numDevices: 200, numAntennas: 8, sequenceLength: 100, bitsPerDevice: 0 };
    const data = synthetic({ scenario, trials: 20, activityProb: 0.1, snrDb: [0, 20], key: 'se2' });
    const taus: number[] = [];
    const measured: number[] = [];
    tf.tidy(() => {
      const rows = data.rows();
      new MmvAmpDetector(params({ maxIterations: 8, noiseEstimate: 'state-evolution' }), scenario).trace(data.observation(), (it) => {
        taus.push(tf.mean(it.tau2).dataSync()[0]);
        measured.push(tf.mean(cx.abs2(cx.sub(it.z, rows))).dataSync()[0]);
      });
    });
    expect(taus[0]).to.be.closeTo(1 + data.beta.reduce((a, b) => a + 0.1 * b, 0) / 100, 1e-3 * taus[0]);
    for (let t = 3; t < 8; t++) expect(taus[t], `iteration ${t}`).to.be.closeTo(measured[t], 0.05 * measured[t]);
  });

  it('matrix Onsager converges under the 48 dB near-far spread (N = 100, L = 40, M = 16), where the scalar (trace) one does not', () => {
    const scenario: Scenario = { numDevices: 100, numAntennas: 16, sequenceLength: 40, bitsPerDevice: 0 };
    const data = synthetic({ scenario, trials: 10, activityProb: 0.1, snrDb: [3.9, 52.8], key: 'near-far' });
    const finalTau = (onsager: 'matrix' | 'scalar') =>
      tf.tidy(() => {
        let last = 0;
        new MmvAmpDetector(params({ maxIterations: 30, onsager }), scenario).trace(data.observation(), (it) => {
          last = tf.mean(it.tau2).dataSync()[0];
        });
        return last;
      });
    // sigma^2 = 1; measured in a prototype: matrix ~1.33, scalar ~55
    expect(finalTau('matrix')).to.be.below(2);
    expect(finalTau('scalar')).to.be.above(10);
  });

  it('detects activity and messages exactly, and estimates channels, when L >> K at high SNR (Q = 2)', () => {
    const scenario: Scenario = { numDevices: 12, numAntennas: 8, sequenceLength: 48, bitsPerDevice: 1 };
    const B = 30;
    const data = synthetic({ scenario, trials: B, activityProb: 0.3, snrDb: 30, key: 'easy' });
    tf.tidy(() => {
      const est = new MmvAmpDetector(params({ maxIterations: 20 }), scenario).detect(data.observation());
      expect(est.activity?.arraySync()).to.deep.equal(data.activity);
      const msg = est.message?.arraySync() as number[][];
      data.activity.forEach((a, b) => a.forEach((on, n) => on && expect(msg[b][n], `trial ${b} device ${n}`).to.equal(data.message[b][n])));
      // NMSE of the active devices' channels: about tau^2 / beta ~ 1e-3 here
      const h = data.channel();
      const active = tf.expandDims(tf.tensor2d(data.activity), 2);
      const err = tf.sum(tf.mul(cx.abs2(cx.sub(est.channel as cx.ComplexTensor, h)), active)).dataSync()[0];
      const energy = tf.sum(tf.mul(cx.abs2(h), active)).dataSync()[0];
      expect(err / energy).to.be.below(0.01);
    });
  });

  it('threshold rules: activityScore is the LLR; "map" = LLR > log((Q - eps)/eps) = rule "llr" at that value; "large-m" = LLR > 0', () => {
    const scenario: Scenario = { numDevices: 60, numAntennas: 4, sequenceLength: 20, bitsPerDevice: 1 };
    const data = synthetic({ scenario, trials: 30, activityProb: 0.1, snrDb: [0, 15], key: 'rules' });
    tf.tidy(() => {
      const run = (threshold: MmvAmpParams['threshold']) => new MmvAmpDetector(params({ maxIterations: 15, threshold }), scenario).detect(data.observation());
      const map = run({ rule: 'map' });
      const cut = Math.log((2 - 0.1) / 0.1);
      const score = map.activityScore?.arraySync() as number[][];
      expect(map.activity?.arraySync()).to.deep.equal(score.map((r) => r.map((s) => (s > cut ? 1 : 0))));
      expect(run({ rule: 'llr', value: cut }).activity?.arraySync()).to.deep.equal(map.activity?.arraySync());
      expect(run({ rule: 'large-m' }).activity?.arraySync()).to.deep.equal(score.map((r) => r.map((s) => (s > 0 ? 1 : 0))));
      // and the trade-off goes the right way: a higher threshold declares fewer devices
      const count = (e: typeof map) => tf.sum(e.activity as tf.Tensor).dataSync()[0];
      expect(count(run({ rule: 'llr', value: cut + 5 }))).to.be.below(count(map));
    });
  });

  it('gives each trial the same result alone as in a batch, and declares what it needs', () => {
    const scenario: Scenario = { numDevices: 30, numAntennas: 4, sequenceLength: 16, bitsPerDevice: 0 };
    const data = synthetic({ scenario, trials: 6, activityProb: 0.1, snrDb: [0, 20], key: 'batch' });
    const alone = synthetic({ scenario, trials: 1, first: 4, activityProb: 0.1, snrDb: [0, 20], key: 'batch' });
    tf.tidy(() => {
      const det = new MmvAmpDetector(params({ maxIterations: 20 }), scenario);
      const all = det.detect(data.observation()).activityScore?.arraySync() as number[][];
      const one = det.detect(alone.observation()).activityScore?.arraySync() as number[][];
      one[0].forEach((s, n) => expect(s).to.be.closeTo(all[4][n], 1e-3 * Math.abs(all[4][n]) + 1e-3));
    });
    const info = MmvAmpDetector.plugin;
    expect(info.requires?.(params(), scenario)).to.deep.equal(['codebook', 'largeScaleFading', 'activityProbability']);
    expect(info.requires?.(params({ noiseEstimate: 'state-evolution' }), scenario)).to.include('noiseVariance');
    expect(info.provides?.(params(), scenario)).to.deep.equal(['activityScore', 'activity', 'message', 'channel']);
  });
});

import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { describePluginContract } from '@gfra/core/testing';
import { RandomStreams, type Scenario } from '@gfra/core';
import { MatchedFilterDetector } from './matched-filter';

const SCENARIO: Scenario = { numDevices: 2, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 2 };

/** Unit-norm chirp (WBE) signatures [L, N] as a complex tensor. */
function chirp(N: number, L: number) {
  const phase = (k: number, n: number) => (Math.PI * k * k) / N + (2 * Math.PI * k * n) / N;
  const rows = (f: (x: number) => number) => Array.from({ length: L }, (_, k) => Array.from({ length: N }, (_, n) => f(phase(k, n)) / Math.sqrt(L)));
  return { re: tf.tensor2d(rows(Math.cos)), im: tf.tensor2d(rows(Math.sin)) };
}

describe('detector:matched-filter', () => {
  // Hand case: s_1 = [1, 0], s_2 = [1, j]/sqrt2, per-resource channel h_1 = [2, 1], h_2 = [1, -1]:
  // g_1 = [2, 0], g_2 = [1, -j]/sqrt2; y = [1 + j, 0.5 - 0.25j].
  const s = { re: [[1, Math.SQRT1_2], [0, 0]], im: [[0, 0], [0, Math.SQRT1_2]] };
  const h = { re: [[[2], [1]], [[1], [-1]]], im: [[[0], [0]], [[0], [0]]] };
  const y = { re: [[1], [0.5]], im: [[1], [-0.25]] };
  const noiseVar = 0.3;
  const p = [0.7, 0.2];
  const detect = () =>
    tf.tidy(() => {
      const est = new MatchedFilterDetector({}, SCENARIO).detect({
        y: { re: tf.tensor3d([y.re]), im: tf.tensor3d([y.im]) },
        channel: { re: tf.tensor4d([h.re]), im: tf.tensor4d([h.im]) },
        signatures: { re: tf.tensor2d(s.re), im: tf.tensor2d(s.im) },
        noiseVar,
        activityProbability: tf.tensor1d(p),
      });
      return {
        re: (est.symbols?.re.arraySync() as number[][])[0],
        im: (est.symbols?.im.arraySync() as number[][])[0],
        score: (est.activityScore?.arraySync() as number[][])[0],
        activity: (est.activity?.arraySync() as number[][])[0],
        message: (est.message?.arraySync() as number[][])[0],
      };
    });

  it('soft symbol is exactly g_n^H y / ||g_n||^2 (hand case, per-resource channel)', () => {
    const e = detect();
    // g_1^H y / 4 = 2 (1 + j) / 4
    expect(e.re[0]).to.be.closeTo(0.5, 1e-6);
    expect(e.im[0]).to.be.closeTo(0.5, 1e-6);
    // g_2 = [1, -j]/sqrt2, ||g_2||^2 = 1: conj(g_2) . y = ((1 + j) + j (0.5 - 0.25 j)) / sqrt2 = (1.25 + 1.5 j) / sqrt2
    expect(e.re[1]).to.be.closeTo(1.25 * Math.SQRT1_2, 1e-6);
    expect(e.im[1]).to.be.closeTo(1.5 * Math.SQRT1_2, 1e-6);
    expect(e.message).to.deep.equal([0, 0]);
  });

  it('activity score equals the brute-force MAP log-odds (direct exponentials, no log-sum-exp)', () => {
    const e = detect();
    // |g_1^H g_2|^2 = |2/sqrt2|^2 = 2; v_1 = (0.3*4 + 0.2*2)/16, v_2 = (0.3*1 + 0.7*2)/1
    const v = [(noiseVar * 4 + p[1] * 2) / 16, noiseVar * 1 + p[0] * 2];
    const x = [
      [0.5, 0.5],
      [1.25 * Math.SQRT1_2, 1.5 * Math.SQRT1_2],
    ];
    const pts = [[1, 1], [1, -1], [-1, 1], [-1, -1]].map(([a, b]) => [a * Math.SQRT1_2, b * Math.SQRT1_2]);
    for (let n = 0; n < 2; n++) {
      const dens = (qr: number, qi: number) => Math.exp(-((x[n][0] - qr) ** 2 + (x[n][1] - qi) ** 2) / v[n]) / (Math.PI * v[n]);
      const on = (p[n] / 4) * pts.reduce((a, [qr, qi]) => a + dens(qr, qi), 0);
      const off = (1 - p[n]) * dens(0, 0);
      const odds = Math.log(on / off);
      expect(e.score[n], `device ${n}`).to.be.closeTo(odds, 1e-4 * Math.max(1, Math.abs(odds)));
      expect(e.activity[n], `device ${n}`).to.equal(odds > 0 ? 1 : 0);
    }
  });

  it('log-sum-exp keeps the score finite where direct exponentials overflow (tiny variance)', () => {
    const est = tf.tidy(() => {
      const e = new MatchedFilterDetector({}, SCENARIO).detect({
        y: { re: tf.tensor3d([[[40], [0]]]), im: tf.tensor3d([[[40], [0]]]) },
        channel: { re: tf.tensor3d([[[1], [1]]]), im: tf.tensor3d([[[0], [0]]]) },
        signatures: { re: tf.tensor2d([[1, 0], [0, 1]]), im: tf.tensor2d([[0, 0], [0, 0]]) },
        noiseVar: 1e-6,
        activityProbability: tf.tensor1d(p),
      });
      return { score: e.activityScore?.arraySync() as number[][], activity: e.activity?.arraySync() as number[][] };
    });
    expect(est.score[0][0]).to.be.greaterThan(1e6); // |x|^2 / v - |x - q|^2 / v, finite in float64
    expect(est.activity[0]).to.deep.equal([1, 0]);
  });

  it('refuses more than one antenna and non-QPSK at validation', () => {
    const problems = MatchedFilterDetector.plugin.check?.({}, { numDevices: 6, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 1 }) ?? [];
    expect(problems.map((x) => x.message)).to.deep.equal([
      'matched-filter is a single-antenna code-domain NOMA receiver: scenario.numAntennas must be 1 (got 2)',
      'matched-filter detects one QPSK symbol per device: scenario.bitsPerDevice must be 2 (got 1)',
    ]);
    expect(MatchedFilterDetector.plugin.check?.({}, { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 })).to.deep.equal([]);
  });
  it('per-device bits: device 0 BPSK (sign of Re, MAP over 2 points), device 1 QPSK; p = 1 always active; check accepts J_n in {1, 2} only', () => {
    const hetero: Scenario = { ...SCENARIO, deviceBits: [1, 2] };
    expect(MatchedFilterDetector.plugin.perDeviceBits).to.equal(true);
    expect(MatchedFilterDetector.plugin.check?.({}, hetero)).to.deep.equal([]);
    const bad = MatchedFilterDetector.plugin.check?.({}, { ...SCENARIO, bitsPerDevice: 3, deviceBits: [3, 2] }) ?? [];
    expect(bad.map((x) => x.message)).to.deep.equal(['matched-filter detects one BPSK (1 bit) or QPSK (2 bits) symbol per device, but scenario.bitsPerDevice gives device 0 3 bits']);
    const run = (pp: number[]) =>
      tf.tidy(() => {
        const e = new MatchedFilterDetector({}, hetero).detect({
          y: { re: tf.tensor3d([[[-0.3], [0.6]], [[0.2], [-0.5]]]), im: tf.tensor3d([[[0.9], [-0.1]], [[-0.8], [0.4]]]) },
          channel: { re: tf.tensor3d([[[1], [1]], [[1], [1]]]), im: tf.tensor3d([[[0], [0]], [[0], [0]]]) },
          signatures: { re: tf.tensor2d([[1, 0], [0, 1]]), im: tf.tensor2d([[0, 0], [0, 0]]) },
          noiseVar: 0.2,
          activityProbability: tf.tensor1d(pp),
        });
        return { score: e.activityScore?.arraySync() as number[][], activity: e.activity?.arraySync() as number[][], message: e.message?.arraySync() as number[][] };
      });
    const e = run([0.6, 0.6]);
    // BPSK device 0: Re -0.3 -> message 1, Re 0.2 -> message 0 (Im ignored); QPSK device 1 as before
    expect(e.message).to.deep.equal([[1, 1], [0, 2]]);
    // orthogonal signatures: v = sigma^2; BPSK odds = log(p/2 (e^{-|x-1|^2/v} + e^{-|x+1|^2/v}) / ((1-p) e^{-|x|^2/v}))
    const x: [number, number] = [-0.3, 0.9];
    const dens = (qr: number) => Math.exp(-((x[0] - qr) ** 2 + x[1] ** 2) / 0.2);
    const odds = Math.log(((0.6 / 2) * (dens(1) + dens(-1))) / (0.4 * dens(0)));
    expect(e.score[0][0]).to.be.closeTo(odds, 1e-4 * Math.max(1, Math.abs(odds)));
    const all = run([1, 1]);
    expect(all.activity).to.deep.equal([[1, 1], [1, 1]]);
    expect(all.score.flat().every((v) => Number.isFinite(v) && v > 1e29), 'p = 1: a certain, finite log-odds').to.equal(true);
    expect(all.message).to.deep.equal(e.message);
  });
});

describePluginContract(MatchedFilterDetector, {
  scenario: { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 },
  observation: (s, batch) => ({
    signatures: chirp(s.numDevices, s.sequenceLength),
    channel: new RandomStreams(['contract-noma']).complexNormal({ first: 0, count: batch }, 'h', [s.numDevices, s.sequenceLength, 1]),
  }),
});

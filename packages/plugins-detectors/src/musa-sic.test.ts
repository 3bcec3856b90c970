/**
 * MUSA-SIC, the classical baseline of Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation
 * Design and Multiuser Detection for Grant-Free NOMA": N = 6 users on L = 4 resource elements
 * (150 % overload), rates (1, 1, 1, 2, 2, 2) bits (BPSK for the low-rate, QPSK for the high-rate
 * users), greedy 3-ary MUSA spreading codes, all users always active, AWGN (h = 1), and the
 * `mmse-sic` detector configured as plain MMSE-SIC over all users (prior "all-active", p_n = 1,
 * SINR ordering, hard cancellation).
 *
 * Own simulation, no channel plugin. SNR: per-RE, sigma^2 = 10^(-SNR/10) / L with unit-norm
 * signatures and unit-energy symbols (E||x_n||^2 = 1). This is the paper's convention scaled by
 * 1/L: codes with ||c_n||^2 = L = K give E||x_n||^2 = K and SNR = 1/sigma^2.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Generator, QPSK_POINTS, wilsonInterval, type Scenario } from '@gfra/core';
import { MmseSicDetector, type MmseSicParams } from './mmse-sic';
import { MatchedFilterDetector } from './matched-filter';
import { solveComplex, type HostComplex } from './testing/complex-solve';

const N = 6;
const L = 4;
const BITS = [1, 1, 1, 2, 2, 2];
const SCENARIO: Scenario = { numDevices: N, numAntennas: 1, sequenceLength: L, bitsPerDevice: 2, deviceBits: BITS };
const MUSA_SIC: MmseSicParams = { prior: 'all-active', ordering: 'sinr', activityDecision: 'map' };

type C = HostComplex;

/**
 * musaGreedyCodes(6, 4) of @gfra/plugins-encoders (signature-sets.ts; its test pins the same
 * integers): every chip is ±(1 + j), so c_n = (1 + j) r_n with these real ±1 rows r_n.
 */
const GREEDY_ROWS = [
  [-1, -1, -1, -1],
  [-1, -1, 1, 1],
  [-1, 1, -1, 1],
  [-1, 1, 1, -1],
  [-1, -1, -1, 1],
  [-1, -1, 1, -1],
];
/** Unit-norm s_n(l) = (1 + j) r_n(l) / sqrt(8). */
const SIG: C[][] = GREEDY_ROWS.map((r) => r.map((x) => [x / Math.sqrt(8), x / Math.sqrt(8)] as C));

const BPSK: C[] = [
  [1, 0],
  [-1, 0],
];
const points = (n: number): readonly (readonly [number, number])[] => (BITS[n] === 1 ? BPSK : QPSK_POINTS);

/** T tuples at per-RE noise variance sigma^2: messages, received vectors (host) and the detector's observation. */
function simulate(T: number, noiseVar: number, key: string) {
  const gen = Generator.fromKey(['musa-sic-test', key]);
  const message = Array.from({ length: T }, () => BITS.map((j) => gen.integer(2 ** j)));
  const sd = Math.sqrt(noiseVar / 2);
  const y: C[][] = message.map((m) =>
    Array.from({ length: L }, (_, l) => {
      const acc: C = [gen.normal() * sd, gen.normal() * sd];
      for (let n = 0; n < N; n++) {
        const [xr, xi] = points(n)[m[n]];
        const [sr, si] = SIG[n][l];
        acc[0] += sr * xr - si * xi;
        acc[1] += sr * xi + si * xr;
      }
      return acc;
    }),
  );
  const observation = () => ({
    y: { re: tf.tensor3d(y.map((yb) => yb.map((c) => [c[0]]))), im: tf.tensor3d(y.map((yb) => yb.map((c) => [c[1]]))) },
    channel: { re: tf.ones([T, N, L, 1]), im: tf.zeros([T, N, L, 1]) },
    signatures: { re: tf.tensor2d(Array.from({ length: L }, (_, l) => SIG.map((s) => s[l][0]))), im: tf.tensor2d(Array.from({ length: L }, (_, l) => SIG.map((s) => s[l][1]))) },
    noiseVar,
    activityProbability: tf.ones([N]) as tf.Tensor1D,
  });
  return { message, y, observation };
}

function detect(det: MmseSicDetector | MatchedFilterDetector, obs: () => ReturnType<ReturnType<typeof simulate>['observation']>) {
  return tf.tidy(() => {
    const e = det.detect(obs());
    return {
      message: e.message?.arraySync() as number[][],
      activity: e.activity?.arraySync() as number[][],
      score: e.activityScore?.arraySync() as number[][],
      re: e.symbols?.re.arraySync() as number[][],
      im: e.symbols?.im.arraySync() as number[][],
    };
  });
}


/**
 * The paper's MUSA-SIC loop, literally: S = all users; R = A_S A_S^H + sigma^2 I;
 * q_n = a_n^H R^-1 a_n; n* = argmax q_n; z = a_{n*}^H R^-1 y / q_{n*}; d^ = nearest point of
 * n*'s constellation; y <- y - a_{n*} d^. Returns the decided messages. Independent of the
 * plugin's path: Gauss-Jordan solves instead of Cholesky, nearest point by distance.
 */
function paperMusaSic(y: C[], noiseVar: number): number[] {
  const dot = (a: C[], b: C[]): C => a.reduce<C>((s, ai, l) => [s[0] + ai[0] * b[l][0] + ai[1] * b[l][1], s[1] + ai[0] * b[l][1] - ai[1] * b[l][0]], [0, 0]);
  let r = y.slice();
  const S = [...Array(N).keys()];
  const out = new Array<number>(N).fill(-1);
  while (S.length > 0) {
    const R: C[][] = Array.from({ length: L }, (_, i) =>
      Array.from({ length: L }, (_, j) => {
        const acc: C = [i === j ? noiseVar : 0, 0];
        for (const m of S) {
          const [ar, ai] = SIG[m][i];
          const [br, bi] = SIG[m][j];
          acc[0] += ar * br + ai * bi;
          acc[1] += ai * br - ar * bi;
        }
        return acc;
      }),
    );
    const q = S.map((n) => dot(SIG[n], solveComplex(R, SIG[n]))[0]);
    // argmax, the lowest index on ties: q is exactly equal for symmetric codes, so a relative
    // 1e-9 margin stands in for exact arithmetic (rounding would otherwise pick among them)
    const k = q.reduce((best, v, i) => (v > q[best] * (1 + 1e-9) ? i : best), 0);
    const n = S[k];
    const w = dot(SIG[n], solveComplex(R, r));
    const z: C = [w[0] / q[k], w[1] / q[k]];
    const pts = points(n);
    const d = pts.reduce((best, p, i) => ((z[0] - p[0]) ** 2 + (z[1] - p[1]) ** 2 < (z[0] - pts[best][0]) ** 2 + (z[1] - pts[best][1]) ** 2 ? i : best), 0);
    out[n] = d;
    const [pr, pi] = pts[d];
    r = r.map((rl, l) => [rl[0] - (SIG[n][l][0] * pr - SIG[n][l][1] * pi), rl[1] - (SIG[n][l][0] * pi + SIG[n][l][1] * pr)] as C);
    S.splice(k, 1);
  }
  return out;
}


describe('MUSA-SIC (Ma et al. baseline): mmse-sic with per-device BPSK/QPSK, p = 1', () => {
  it('equals the paper\'s MMSE-SIC loop (argmax a^H R^-1 a, nearest point, hard cancellation) decision for decision at 2 dB', () => {
    const noiseVar = 10 ** -0.2 / L;
    const data = simulate(300, noiseVar, 'literal');
    for (const params of [MUSA_SIC, { ...MUSA_SIC, prior: 'activity' as const }]) {
      const e = detect(new MmseSicDetector(params, SCENARIO), data.observation);
      for (let b = 0; b < 300; b++) expect(e.message[b], `${params.prior} tuple ${b}`).to.deep.equal(paperMusaSic(data.y[b], noiseVar));
    }
  });

  it('p = 1: every device declared active, no NaN, messages in [0, Q_n), for both priors and the matched filter', () => {
    const data = simulate(200, 10 ** -0.4 / L, 'p1');
    const dets = [new MmseSicDetector(MUSA_SIC, SCENARIO), new MmseSicDetector({ ...MUSA_SIC, prior: 'activity' }, SCENARIO), new MatchedFilterDetector({}, SCENARIO)];
    for (const det of dets) {
      const e = detect(det, data.observation);
      expect(e.activity.flat().every((a) => a === 1)).to.equal(true);
      for (const v of [...e.score.flat(), ...e.re.flat(), ...e.im.flat()]) expect(Number.isNaN(v)).to.equal(false);
      e.message.forEach((row) => row.forEach((m, n) => expect(m).to.be.within(0, 2 ** BITS[n] - 1)));
    }
  });

  // The spec's numpy reference (AWGN, greedy codes: 3.1e-2 / 1.4e-1 at 0 dB, 1.4e-2 / 3.1e-2 at
  // 4 dB, 5.4e-3 / 8.1e-3 at 8 dB, low / high rate) is not asserted: the greedy codes are so
  // symmetric that several users tie exactly in a^H R^-1 a, and the detection order among ties,
  // which the paper and the reference leave unstated, decides the low-rate BLER (this detector
  // breaks ties by the lowest index; measured 3.9e-2, 2.1e-2, 8.2e-3 low-rate and 1.41e-1,
  // 3.6e-2, 1.0e-2 high-rate, i.e. the high-rate group matches and the low-rate group is
  // 1.3-1.5x above the reference; see examples/mul-vae/README.md). The decisions are checked
  // against the paper's loop above; here only what does not depend on the tie rule: both groups'
  // BLER falls from 0 to 4 to 8 dB, with disjoint 99 % intervals.
  const T = 10000;
  it(`AWGN 0 / 4 / 8 dB, ${T} tuples: both rate groups' BLER falls with SNR (disjoint 99 % intervals)`, () => {
    const rates = [0, 4, 8].map((snrDb) => {
      const noiseVar = 10 ** (-snrDb / 10) / L;
      const data = simulate(T, noiseVar, `ber-${snrDb}`);
      const e = detect(new MmseSicDetector(MUSA_SIC, SCENARIO), data.observation);
      const errors = [0, 0];
      data.message.forEach((m, b) => m.forEach((mn, n) => (errors[BITS[n] - 1] += e.message[b][n] !== mn ? 1 : 0)));
      return errors.map((k) => {
        const { low, high } = wilsonInterval(k, 3 * T, 0.99);
        return [low as number, high as number];
      });
    });
    for (const group of [0, 1]) {
      for (let i = 1; i < rates.length; i++) {
        expect(rates[i][group][1], `group ${group + 1}: ${rates[i][group]} below ${rates[i - 1][group]}`).to.be.below(rates[i - 1][group][0]);
      }
    }
  });
});

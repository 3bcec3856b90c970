import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { describePluginContract } from '@gfra/core/testing';
import { Generator, QPSK_POINTS, RandomStreams, type Scenario } from '@gfra/core';
import { MmseSicDetector, type MmseSicParams } from './mmse-sic';
import { solveComplex, type HostComplex } from './testing/complex-solve';

const params = (p: Partial<MmseSicParams> = {}): MmseSicParams => ({ prior: 'activity', ordering: 'sinr', activityDecision: 'map', ...p });

type C = HostComplex;
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const conj = (a: C): C => [a[0], -a[1]];


/** Naive MMSE-SIC (independent of the plugin's Cholesky path): per-device x~, score, activity, message. */
function referenceSic(g: C[][], y: C[], noiseVar: number, p: number[], ordering: 'index' | 'sinr', cancel = true) {
  const N = g.length;
  const L = y.length;
  let r = y.slice();
  const remaining = [...Array(N).keys()];
  const out = { x: [] as C[], score: [] as number[], active: [] as number[], message: [] as number[] };
  while (remaining.length > 0) {
    const Cm: C[][] = Array.from({ length: L }, (_, i) =>
      Array.from({ length: L }, (_, j) => {
        const acc: C = [i === j ? noiseVar : 0, 0];
        for (const m of remaining) {
          const t = cmul(g[m][i], conj(g[m][j]));
          acc[0] += p[m] * t[0];
          acc[1] += p[m] * t[1];
        }
        return acc;
      }),
    );
    const dot = (a: C[], b: C[]) => a.reduce<C>((s, ai, l) => { const t = cmul(conj(ai), b[l]); return [s[0] + t[0], s[1] + t[1]]; }, [0, 0]);
    const w = solveComplex(Cm, r);
    const stage = remaining.map((n) => {
      const beta = dot(g[n], solveComplex(Cm, g[n]))[0];
      const z = dot(g[n], w);
      return { n, sinr: beta / (1 - p[n] * beta), x: [z[0] / beta, z[1] / beta] as C };
    });
    const pick = ordering === 'index' ? 0 : stage.reduce((best, s, k) => (s.sinr > stage[best].sinr ? k : best), 0);
    const { n, sinr, x } = stage[pick];
    const v = 1 / sinr;
    const dens = (q: C) => Math.exp(-((x[0] - q[0]) ** 2 + (x[1] - q[1]) ** 2) / v);
    const odds = Math.log(((p[n] / 4) * QPSK_POINTS.reduce((a, q) => a + dens(q as C), 0)) / ((1 - p[n]) * dens([0, 0])));
    const message = (x[0] < 0 ? 2 : 0) + (x[1] < 0 ? 1 : 0);
    out.x[n] = x;
    out.score[n] = odds;
    out.active[n] = odds > 0 ? 1 : 0;
    out.message[n] = message;
    if (cancel && odds > 0) r = r.map((rl, l) => { const t = cmul(g[n][l], QPSK_POINTS[message] as C); return [rl[0] - t[0], rl[1] - t[1]] as C; });
    remaining.splice(pick, 1);
  }
  return out;
}

/** A random block-fading batch with given signatures [L][N] (complex), host arrays plus tensors. */
function batch(sig: C[][], p: number[], B: number, noiseVar: number, key: string) {
  const L = sig.length;
  const N = sig[0].length;
  const gen = Generator.fromKey(['mmse-sic-test', key]);
  const cn = (v: number): C => [gen.normal() * Math.sqrt(v / 2), gen.normal() * Math.sqrt(v / 2)];
  const activity = Array.from({ length: B }, () => p.map((pn) => (gen.uniform() < pn ? 1 : 0)));
  const message = Array.from({ length: B }, () => p.map(() => gen.integer(4)));
  const h = Array.from({ length: B }, () => p.map(() => cn(1)));
  const g = h.map((hb) => Array.from({ length: N }, (_, n) => Array.from({ length: L }, (_, l) => cmul(hb[n], sig[l][n]))));
  const y = g.map((gb, b) =>
    Array.from({ length: L }, (_, l) => {
      const acc = cn(noiseVar);
      for (let n = 0; n < N; n++) {
        if (!activity[b][n]) continue;
        const t = cmul(gb[n][l], QPSK_POINTS[message[b][n]] as C);
        acc[0] += t[0];
        acc[1] += t[1];
      }
      return acc;
    }),
  );
  const observation = () => ({
    y: { re: tf.tensor3d(y.map((yb) => yb.map((c) => [c[0]]))), im: tf.tensor3d(y.map((yb) => yb.map((c) => [c[1]]))) },
    channel: { re: tf.tensor3d(h.map((hb) => hb.map((c) => [c[0]]))), im: tf.tensor3d(h.map((hb) => hb.map((c) => [c[1]]))) },
    signatures: { re: tf.tensor2d(sig.map((row) => row.map((c) => c[0]))), im: tf.tensor2d(sig.map((row) => row.map((c) => c[1]))) },
    noiseVar,
    activityProbability: tf.tensor1d(p),
  });
  return { activity, message, g, y, observation };
}

function run(det: MmseSicDetector, obs: () => ReturnType<ReturnType<typeof batch>['observation']>) {
  return tf.tidy(() => {
    const e = det.detect(obs());
    return {
      re: e.symbols?.re.arraySync() as number[][],
      im: e.symbols?.im.arraySync() as number[][],
      score: e.activityScore?.arraySync() as number[][],
      activity: e.activity?.arraySync() as number[][],
      message: e.message?.arraySync() as number[][],
    };
  });
}

/** Unit-norm signatures [L][N]: columns of the L-point DFT (orthogonal when N <= L), or the chirp frame. */
const dft = (N: number, L: number): C[][] => Array.from({ length: L }, (_, k) => Array.from({ length: N }, (_, n) => [Math.cos((2 * Math.PI * k * n) / L) / Math.sqrt(L), Math.sin((2 * Math.PI * k * n) / L) / Math.sqrt(L)] as C));
const chirp = (N: number, L: number): C[][] =>
  Array.from({ length: L }, (_, k) => Array.from({ length: N }, (_, n) => { const ph = (Math.PI * k * k) / N + (2 * Math.PI * k * n) / N; return [Math.cos(ph) / Math.sqrt(L), Math.sin(ph) / Math.sqrt(L)] as C; }));

describe('detector:mmse-sic', () => {
  it('sigma^2 -> 0 (1e-9), |Gamma| <= L, orthogonal g_n: zero errors, soft symbols exact, for every ordering and prior', () => {
    const scenario: Scenario = { numDevices: 4, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
    const data = batch(dft(4, 4), [0.8, 0.4, 0.8, 0.4], 60, 1e-9, 'orthogonal');
    for (const ordering of ['sinr', 'index', 'prob-then-sinr'] as const) {
      for (const prior of ['activity', 'all-active'] as const) {
        const e = run(new MmseSicDetector(params({ ordering, prior }), scenario), data.observation);
        expect(e.activity, `${ordering}/${prior} activity`).to.deep.equal(data.activity);
        data.activity.forEach((ab, b) =>
          ab.forEach((a, n) => {
            const [qr, qi] = a ? QPSK_POINTS[data.message[b][n]] : [0, 0];
            // x~_n = q_n + g_n^H w / ||g_n||^2: noise std sqrt(1e-9 / 2) / |h_n| per component, plus float32 rounding of y
            const tol = 2e-4 / Math.sqrt(data.g[b][n].reduce((acc, c) => acc + c[0] ** 2 + c[1] ** 2, 0)) + 1e-5;
            expect(e.re[b][n], `${ordering}/${prior} trial ${b} device ${n}`).to.be.closeTo(qr, tol);
            expect(e.im[b][n], `${ordering}/${prior} trial ${b} device ${n}`).to.be.closeTo(qi, tol);
            if (a) expect(e.message[b][n]).to.equal(data.message[b][n]);
          }),
        );
      }
    }
  });

  for (const ordering of ['index', 'sinr'] as const) {
    it(`equals a naive MMSE-SIC (real Gauss-Jordan, direct exponentials) at 5 dB, N = 6, L = 4, ordering "${ordering}"`, () => {
      const scenario: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
      const p = [0.8, 0.8, 0.8, 0.4, 0.4, 0.4];
      const data = batch(chirp(6, 4), p, 25, 10 ** -0.5 / 4, `naive-${ordering}`);
      const e = run(new MmseSicDetector(params({ ordering }), scenario), data.observation);
      for (let b = 0; b < 25; b++) {
        const ref = referenceSic(data.g[b], data.y[b], 10 ** -0.5 / 4, p, ordering);
        expect(e.activity[b], `trial ${b}`).to.deep.equal(ref.active);
        expect(e.message[b], `trial ${b}`).to.deep.equal(ref.message);
        for (let n = 0; n < 6; n++) {
          expect(e.re[b][n]).to.be.closeTo(ref.x[n][0], 1e-4 * Math.max(1, Math.abs(ref.x[n][0])));
          expect(e.im[b][n]).to.be.closeTo(ref.x[n][1], 1e-4 * Math.max(1, Math.abs(ref.x[n][1])));
          expect(e.score[b][n]).to.be.closeTo(ref.score[n], 1e-3 * Math.max(1, Math.abs(ref.score[n])));
        }
      }
    });
  }

  it('threshold rule: activityScore = |x~_n| and activity = |x~_n| > threshold; a fitted gamma* replaces the rule', () => {
    const scenario: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };
    const data = batch(chirp(6, 4), [0.8, 0.8, 0.8, 0.4, 0.4, 0.4], 20, 0.02, 'threshold');
    const e = run(new MmseSicDetector(params({ activityDecision: { threshold: 0.5 } }), scenario), data.observation);
    e.score.forEach((row, b) =>
      row.forEach((s, n) => {
        expect(s).to.be.closeTo(Math.hypot(e.re[b][n], e.im[b][n]), 1e-5);
        expect(e.activity[b][n]).to.equal(s > 0.5 ? 1 : 0);
      }),
    );
    // gamma* = +Infinity: nothing declared active, nothing cancelled: stage estimates of y itself
    const det = new MmseSicDetector(params({ ordering: 'index' }), scenario);
    det.useActivityThreshold(Infinity);
    const none = run(det, data.observation);
    expect(none.activity.flat().every((a) => a === 0)).to.equal(true);
    for (let b = 0; b < 20; b++) {
      const ref = referenceSic(data.g[b], data.y[b], 0.02, [0.8, 0.8, 0.8, 0.4, 0.4, 0.4], 'index', false);
      for (let n = 0; n < 6; n++) expect(none.re[b][n]).to.be.closeTo(ref.x[n][0], 1e-4 * Math.max(1, Math.abs(ref.x[n][0])));
    }
  });

  it('refuses more than one antenna and non-QPSK at validation', () => {
    const problems = MmseSicDetector.plugin.check?.(params(), { numDevices: 6, numAntennas: 4, sequenceLength: 4, bitsPerDevice: 2 }) ?? [];
    expect(problems).to.have.length(1);
    expect(problems[0].message).to.equal('mmse-sic is a single-antenna code-domain NOMA receiver: scenario.numAntennas must be 1 (got 4)');
    expect(problems[0].hint).to.match(/numAntennas to 1/);
  });
  it('per-device bits: declares perDeviceBits, accepts J_n in {1, 2} and refuses others, naming the devices', () => {
    expect(MmseSicDetector.plugin.perDeviceBits).to.equal(true);
    const s: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2, deviceBits: [1, 1, 1, 2, 2, 2] };
    expect(MmseSicDetector.plugin.check?.(params(), s)).to.deep.equal([]);
    const bad = MmseSicDetector.plugin.check?.(params(), { ...s, bitsPerDevice: 4, deviceBits: [1, 4, 1, 2, 2, 2] }) ?? [];
    expect(bad.map((x) => x.message)).to.deep.equal(['mmse-sic detects one BPSK (1 bit) or QPSK (2 bits) symbol per device, but scenario.bitsPerDevice gives device 1 4 bits']);
    // BPSK/QPSK decisions, p = 1 and agreement with the paper's MUSA-SIC loop: musa-sic.test.ts
  });
});

describePluginContract(MmseSicDetector, {
  scenario: { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 },
  params: { ordering: 'prob-then-sinr' },
  observation: (s, batchSize) => ({
    signatures: { re: tf.tensor2d(chirp(s.numDevices, s.sequenceLength).map((r) => r.map((c) => c[0]))), im: tf.tensor2d(chirp(s.numDevices, s.sequenceLength).map((r) => r.map((c) => c[1]))) },
    channel: new RandomStreams(['contract-noma']).complexNormal({ first: 0, count: batchSize }, 'h', [s.numDevices, s.sequenceLength, 1]),
  }),
});

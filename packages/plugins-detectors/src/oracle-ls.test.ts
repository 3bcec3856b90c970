import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { describePluginContract } from '@gfra/core/testing';
import { Generator, ORACLE_KNOWLEDGE, QPSK_POINTS, RandomStreams, type Scenario } from '@gfra/core';
import { OracleLsDetector, type OracleLsParams } from './oracle-ls';

type C = [number, number];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const conj = (a: C): C => [a[0], -a[1]];
const params = (p: Partial<OracleLsParams> = {}): OracleLsParams => ({ variant: 'finite-alphabet', maxActive: 8, ...p });
const SCENARIO: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2 };

/** Real least squares min ||A x - b|| (A m x n, m >= n, full rank) by the normal equations and Gauss-Jordan. */
function leastSquaresReal(A: number[][], b: number[]): number[] {
  const n = A[0].length;
  const M = Array.from({ length: n }, (_, i) => [...Array.from({ length: n }, (_, j) => A.reduce((s, row) => s + row[i] * row[j], 0)), A.reduce((s, row, k) => s + row[i] * b[k], 0)]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(M[i][c]) > Math.abs(M[piv][c])) piv = i;
    [M[c], M[piv]] = [M[piv], M[c]];
    for (let i = 0; i < n; i++) {
      if (i === c) continue;
      const f = M[i][c] / M[c][c];
      for (let j = c; j <= n; j++) M[i][j] -= f * M[c][j];
    }
  }
  return M.map((row, i) => row[n] / row[i]);
}

/** Complex least squares via the real form [[Re, -Im], [Im, Re]]; A given by columns (A[k] = column k, length m). */
function leastSquaresComplex(cols: C[][], b: C[]): C[] {
  const m = b.length;
  const k = cols.length;
  const A = Array.from({ length: 2 * m }, (_, i) => Array.from({ length: 2 * k }, (_, j) => {
    const [re, im] = cols[j % k][i % m];
    if (i < m) return j < k ? re : -im;
    return j < k ? im : re;
  }));
  const x = leastSquaresReal(A, [...b.map((c) => c[0]), ...b.map((c) => c[1])]);
  return Array.from({ length: k }, (_, j) => [x[j], x[j + k]] as C);
}

/** A random batch (block fading, chirp signatures, per-RE SNR), forced to have `active` devices in trial b when given. */
function batch(B: number, snrDb: number, key: string, perResource: boolean) {
  const N = 6;
  const L = 4;
  const gen = Generator.fromKey(['oracle-ls-test', key]);
  const noiseVar = 10 ** (-snrDb / 10) / L;
  const cn = (v: number): C => [gen.normal() * Math.sqrt(v / 2), gen.normal() * Math.sqrt(v / 2)];
  const sig: C[][] = Array.from({ length: L }, (_, k) => Array.from({ length: N }, (_, n) => { const ph = (Math.PI * k * k) / N + (2 * Math.PI * k * n) / N; return [Math.cos(ph) / 2, Math.sin(ph) / 2] as C; }));
  const activity = Array.from({ length: B }, () => Array.from({ length: N }, (_, n) => (gen.uniform() < (n < 3 ? 0.8 : 0.4) ? 1 : 0)));
  const message = Array.from({ length: B }, () => Array.from({ length: N }, () => gen.integer(4)));
  const h = Array.from({ length: B }, () => Array.from({ length: N }, () => (perResource ? Array.from({ length: L }, () => cn(1)) : Array(L).fill(cn(1)) as C[])));
  const g = h.map((hb) => hb.map((hn, n) => hn.map((hl, l) => cmul(hl, sig[l][n]))));
  const y = g.map((gb, b) => Array.from({ length: L }, (_, l) => {
    const acc = cn(noiseVar);
    gb.forEach((gn, n) => { if (activity[b][n]) { const t = cmul(gn[l], QPSK_POINTS[message[b][n]] as C); acc[0] += t[0]; acc[1] += t[1]; } });
    return acc;
  }));
  const observation = () => ({
    y: { re: tf.tensor3d(y.map((yb) => yb.map((c) => [c[0]]))), im: tf.tensor3d(y.map((yb) => yb.map((c) => [c[1]]))) },
    channel: perResource
      ? { re: tf.tensor4d(h.map((hb) => hb.map((hn) => hn.map((c) => [c[0]])))), im: tf.tensor4d(h.map((hb) => hb.map((hn) => hn.map((c) => [c[1]])))) }
      : { re: tf.tensor3d(h.map((hb) => hb.map((hn) => [hn[0][0]]))), im: tf.tensor3d(h.map((hb) => hb.map((hn) => [hn[0][1]]))) },
    signatures: { re: tf.tensor2d(sig.map((r) => r.map((c) => c[0]))), im: tf.tensor2d(sig.map((r) => r.map((c) => c[1]))) },
    trueActivity: tf.tensor2d(activity),
  });
  return { activity, message, g, y, observation };
}

function run(p: OracleLsParams, obs: () => ReturnType<ReturnType<typeof batch>['observation']>) {
  return tf.tidy(() => {
    const e = new OracleLsDetector(p, SCENARIO).detect(obs());
    return {
      re: e.symbols?.re.arraySync() as number[][],
      im: e.symbols?.im.arraySync() as number[][],
      score: e.activityScore?.arraySync() as number[][],
      activity: e.activity?.arraySync() as number[][],
      message: e.message?.arraySync() as number[][],
    };
  });
}

describe('detector:oracle-ls', () => {
  for (const perResource of [false, true]) {
    it(`finite-alphabet equals a brute-force argmin over QPSK^|Gamma| (${perResource ? 'per-resource' : 'block'} channel, 5 dB)`, () => {
      const data = batch(40, 5, `fa-${perResource}`, perResource);
      const e = run(params(), data.observation);
      for (let b = 0; b < 40; b++) {
        const support = [...Array(6).keys()].filter((n) => data.activity[b][n] === 1);
        let best = Infinity;
        let bestMessages: number[] = [];
        for (let code = 0; code < 4 ** support.length; code++) {
          const ms = support.map((_, i) => Math.floor(code / 4 ** i) % 4);
          let err = 0;
          for (let l = 0; l < 4; l++) {
            let [rr, ri] = data.y[b][l];
            support.forEach((n, i) => { const t = cmul(data.g[b][n][l], QPSK_POINTS[ms[i]] as C); rr -= t[0]; ri -= t[1]; });
            err += rr * rr + ri * ri;
          }
          if (err < best) { best = err; bestMessages = ms; }
        }
        const expected = Array(6).fill(0);
        support.forEach((n, i) => (expected[n] = bestMessages[i]));
        expect(e.message[b], `trial ${b}`).to.deep.equal(expected);
        expect(e.activity[b], `trial ${b}`).to.deep.equal(data.activity[b]);
        expect(e.score[b], `trial ${b}`).to.deep.equal(data.activity[b]);
        for (let n = 0; n < 6; n++) {
          const [qr, qi] = data.activity[b][n] ? QPSK_POINTS[expected[n]] : [0, 0];
          expect(e.re[b][n]).to.be.closeTo(qr, 1e-6);
          expect(e.im[b][n]).to.be.closeTo(qi, 1e-6);
        }
      }
    });
  }

  it('linear: equals pinv(G_Gamma) y (least squares) when |Gamma| <= L, and the minimum-norm exact fit when |Gamma| > L', () => {
    const data = batch(60, 10, 'linear', false);
    const e = run(params({ variant: 'linear' }), data.observation);
    let over = 0;
    for (let b = 0; b < 60; b++) {
      const support = [...Array(6).keys()].filter((n) => data.activity[b][n] === 1);
      const x = support.map((n) => [e.re[b][n], e.im[b][n]] as C);
      if (support.length === 0) continue;
      if (support.length <= 4) {
        const ref = leastSquaresComplex(support.map((n) => data.g[b][n]), data.y[b]);
        ref.forEach((r, i) => {
          expect(x[i][0], `trial ${b}`).to.be.closeTo(r[0], 1e-4 * Math.max(1, Math.abs(r[0])));
          expect(x[i][1], `trial ${b}`).to.be.closeTo(r[1], 1e-4 * Math.max(1, Math.abs(r[1])));
        });
      } else {
        over++;
        // exact fit G x = y, and x in the range of G^H: x = G^H w with w the least-squares solution of G^H w = x
        for (let l = 0; l < 4; l++) {
          const fit = support.reduce<C>((acc, n, i) => { const t = cmul(data.g[b][n][l], x[i]); return [acc[0] + t[0], acc[1] + t[1]]; }, [0, 0]);
          expect(fit[0]).to.be.closeTo(data.y[b][l][0], 1e-4);
          expect(fit[1]).to.be.closeTo(data.y[b][l][1], 1e-4);
        }
        const rows = Array.from({ length: 4 }, (_, l) => support.map((n) => conj(data.g[b][n][l]))); // columns of G^H
        const w = leastSquaresComplex(rows, x);
        support.forEach((n, i) => {
          const back = w.reduce<C>((acc, wl, l) => { const t = cmul(conj(data.g[b][n][l]), wl); return [acc[0] + t[0], acc[1] + t[1]]; }, [0, 0]);
          expect(back[0]).to.be.closeTo(x[i][0], 1e-4 * Math.max(1, Math.abs(x[i][0])));
          expect(back[1]).to.be.closeTo(x[i][1], 1e-4 * Math.max(1, Math.abs(x[i][1])));
        });
      }
      for (let n = 0; n < 6; n++) {
        if (data.activity[b][n]) expect(e.message[b][n]).to.equal((e.re[b][n] < 0 ? 2 : 0) + (e.im[b][n] < 0 ? 1 : 0));
        else expect([e.re[b][n], e.im[b][n], e.message[b][n]]).to.deep.equal([0, 0, 0]);
      }
    }
    expect(over, 'some trials with |Gamma| > L').to.be.greaterThan(0);
  });

  it('is an oracle (requires trueActivity) and refuses N > maxActive (finite-alphabet only) and M != 1 at validation', () => {
    const requires = OracleLsDetector.plugin.requires?.(params(), SCENARIO) ?? [];
    expect(requires).to.include('trueActivity');
    expect(requires.some((k) => (ORACLE_KNOWLEDGE as readonly string[]).includes(k))).to.equal(true);
    expect(OracleLsDetector.plugin.summary).to.match(/ORACLE/);
    const check = OracleLsDetector.plugin.check;
    const big: Scenario = { numDevices: 12, numAntennas: 1, sequenceLength: 8, bitsPerDevice: 2 };
    expect(check?.(params(), big).map((x) => x.message)).to.deep.equal([
      'oracle-ls (finite-alphabet) searches up to 4^N = 4^12 candidates per trial; keep numDevices at most maxActive = 8',
    ]);
    expect(check?.(params({ variant: 'linear' }), big)).to.deep.equal([]);
    expect(check?.(params({ maxActive: 12 }), big)).to.deep.equal([]);
    expect(check?.(params(), { ...SCENARIO, numAntennas: 2 })).to.have.length(1);
  });
});

for (const variant of ['finite-alphabet', 'linear'] as const) {
  describePluginContract(OracleLsDetector, {
    scenario: SCENARIO,
    params: { variant },
    observation: (s, B) => {
      const ph = (k: number, n: number) => (Math.PI * k * k) / s.numDevices + (2 * Math.PI * k * n) / s.numDevices;
      const rows = (f: (x: number) => number) => Array.from({ length: s.sequenceLength }, (_, k) => Array.from({ length: s.numDevices }, (_, n) => f(ph(k, n)) / Math.sqrt(s.sequenceLength)));
      return {
        signatures: { re: tf.tensor2d(rows(Math.cos)), im: tf.tensor2d(rows(Math.sin)) },
        channel: new RandomStreams(['contract-noma']).complexNormal({ first: 0, count: B }, 'h', [s.numDevices, 1]),
        trueActivity: tf.tensor2d(Array.from({ length: B }, (_, b) => Array.from({ length: s.numDevices }, (_, n) => ((b + n) % 2 === 0 ? 1 : 0)))),
      };
    },
  });
}

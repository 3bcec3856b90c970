import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { blas, resetBlasForTests, RandomStreams, type ComplexTensor } from '@gfra/core';
import { mmvAmp } from './amp';
import { ampTrialsPerProduct, hostMmvAmp, type HostAmpInput, type HostAmpOptions, type HostAmpState } from './amp-host';
import { ampWasm } from './wasm';

/** A batch Y = S X + W with Q sequences per device (row nQ + q of X active for the sent q). */
function draw(B: number, L: number, N: number, Q: number, M: number, perTrial: boolean, key: string) {
  const r = new RandomStreams(['amp-host', key]);
  const K = N * Q;
  const eps = 0.15;
  const odds = Math.log(eps / Q) - Math.log1p(-eps / Q);
  const tensors = tf.tidy(() => {
    const trials = { first: 0, count: B };
    const s: ComplexTensor = perTrial ? r.complexNormal(trials, 's', [L, K], 1 / L) : r.complexNormalOnce('s', [L, K], 1 / L);
    const active = tf.cast(tf.less(r.uniform(trials, 'a', [K, 1]), 0.15 / Q), 'float32');
    const beta = tf.add(0.5, r.uniform(trials, 'beta', [N])) as tf.Tensor2D; // [B, N]
    const betaRows = tf.reshape(tf.tile(tf.expandDims(beta, 2), [1, 1, Q]), [B, K, 1]);
    const h = r.complexNormal(trials, 'h', [K, M], 1);
    const x = { re: tf.mul(tf.mul(h.re, tf.sqrt(betaRows)), active), im: tf.mul(tf.mul(h.im, tf.sqrt(betaRows)), active) };
    const sb = perTrial ? s : { re: tf.broadcastTo(s.re, [B, L, K]), im: tf.broadcastTo(s.im, [B, L, K]) };
    const w = r.complexNormal(trials, 'w', [L, M], 0.01);
    const y = {
      re: tf.add(tf.sub(tf.matMul(sb.re, x.re), tf.matMul(sb.im, x.im)), w.re),
      im: tf.add(tf.add(tf.matMul(sb.re, x.im), tf.matMul(sb.im, x.re)), w.im),
    };
    return [y.re, y.im, s.re, s.im, beta];
  });
  const [yRe, yIm, sRe, sIm, beta] = tensors;
  return { y: { re: yRe, im: yIm }, s: { re: sRe, im: sIm }, beta: beta as tf.Tensor2D, logOdds: new Float64Array(K).fill(odds), eps: new Float64Array(N).fill(eps) };
}

type Draw = ReturnType<typeof draw>;

const input = (d: Draw, L: number, M: number, N: number, Q: number, first = 0, from = 0, to?: number): HostAmpInput => {
  const B = d.y.re.shape[0];
  const end = to ?? B;
  const perTrial = d.s.re.rank === 3;
  const slice = (v: Float32Array, per: number) => v.subarray(from * per, end * per);
  return {
    yRe: slice(d.y.re.dataSync() as Float32Array, L * M),
    yIm: slice(d.y.im.dataSync() as Float32Array, L * M),
    sRe: perTrial ? slice(d.s.re.dataSync() as Float32Array, L * N * Q) : d.s.re.dataSync(),
    sIm: perTrial ? slice(d.s.im.dataSync() as Float32Array, L * N * Q) : d.s.im.dataSync(),
    perTrial,
    B: end - from,
    L,
    M,
    K: N * Q,
    Q,
    beta: slice(d.beta.dataSync() as Float32Array, N),
    logOdds: d.logOdds,
    firstTrial: first + from,
  };
};

/** Trial b's X_T as [K, M] re then im, from the state's layout (row k: M real parts, then M imaginary parts). */
function trialX(state: HostAmpState, b: number, K: number, M: number): number[] {
  const { width, column } = state.layout;
  const out: number[] = [];
  for (const part of [0, M]) for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) out.push(state.x[k * width + column(b) + part + m]);
  return out;
}

describe('hostMmvAmp: the AMP iteration on the host (BLAS products)', () => {
  afterEach(() => {
    delete process.env.GFRA_BLAS;
    resetBlasForTests();
  });

  const settings: { name: string; Q: number; perTrial: boolean; options: HostAmpOptions }[] = [
    { name: 'Q = 1, shared codebook, residual tau, matrix Onsager', Q: 1, perTrial: false, options: { iterations: 12, noise: { estimate: 'residual' }, onsager: 'matrix', damping: 0 } },
    { name: 'Q = 1, one codebook per trial, residual tau, matrix Onsager', Q: 1, perTrial: true, options: { iterations: 12, noise: { estimate: 'residual' }, onsager: 'matrix', damping: 0 } },
    { name: 'Q = 2, shared codebook, state evolution, scalar Onsager, damping 0.3', Q: 2, perTrial: false, options: { iterations: 12, noise: { estimate: 'state-evolution', noiseVar: 0.01, eps: new Float64Array(24).fill(0.15) }, onsager: 'scalar', damping: 0.3 } },
    { name: 'Q = 2, one codebook per trial, residual tau, matrix Onsager, damping 0.2', Q: 2, perTrial: true, options: { iterations: 12, noise: { estimate: 'residual' }, onsager: 'matrix', damping: 0.2 } },
  ];
  const [B, L, N, M] = [21, 16, 24, 3];

  for (const c of settings) {
    it(`${c.name}: equals the tfjs mmvAmp (same equations, separate code) to float32 rounding`, () => {
      const d = draw(B, L, N, c.Q, M, c.perTrial, c.name);
      const host = hostMmvAmp(input(d, L, M, N, c.Q), c.options);
      const K = N * c.Q;
      const ref = tf.tidy(() => {
        const noise = c.options.noise.estimate === 'state-evolution' ? { estimate: 'state-evolution' as const, noiseVar: 0.01, eps: tf.tensor1d(Array.from(c.options.noise.eps)) } : { estimate: 'residual' as const };
        const st = mmvAmp(d.y, d.s, { iterations: 12, sequencesPerDevice: c.Q, beta: d.beta, logOdds: tf.tensor1d(Array.from(d.logOdds)), noise, onsager: c.options.onsager, damping: c.options.damping, trackResidual: true });
        return { x: st.x.arraySync() as number[][][], norms: st.residualNorms!.arraySync() as number[][], tau2: st.tau2.dataSync() };
      });
      // 12 iterations, sums of <= K + L = 64 terms: ~ 12 sqrt(64) u = 6e-6 relative; we allow 3e-5
      let diff = 0;
      let size = 0;
      for (let b = 0; b < B; b++) {
        const x = trialX(host, b, K, M);
        for (let row = 0; row < 2 * K; row++)
          for (let m = 0; m < M; m++) {
            const want = ref.x[row][b][m];
            diff += (x[row * M + m] - want) ** 2;
            size += want * want;
          }
        expect(host.tau2[b] / ref.tau2[b] - 1, `trial ${b}: tau^2`).to.be.within(-3e-5, 3e-5);
        for (let t = 0; t <= 12; t++) expect(host.residualNorms[t * B + b] / ref.norms[t][b] - 1, `trial ${b}, t = ${t}: ||R_t||^2`).to.be.within(-3e-5, 3e-5);
      }
      expect(Math.sqrt(diff / size), 'relative difference of X_T').to.be.at.most(3e-5);
      tf.dispose([d.y.re, d.y.im, d.s.re, d.s.im, d.beta]);
    });

    it(`${c.name}: the same numbers, bit for bit, whatever the batch split and position`, () => {
      const d = draw(B, L, N, c.Q, M, c.perTrial, `split ${c.name}`);
      const K = N * c.Q;
      const first = 3 * ampTrialsPerProduct(M) - 5; // the batch straddles chunk boundaries
      const whole = hostMmvAmp(input(d, L, M, N, c.Q, first), c.options);
      const parts = [
        [0, 1],
        [1, 13],
        [13, B],
      ].map(([from, to]) => ({ from, state: hostMmvAmp(input(d, L, M, N, c.Q, first, from, to), c.options) }));
      for (const { from, state } of parts)
        for (let b = 0; b < state.tau2.length; b++) {
          expect(trialX(state, b, K, M), `trial ${from + b}: X_T`).to.deep.equal(trialX(whole, from + b, K, M));
          expect(state.tau2[b]).to.equal(whole.tau2[from + b]);
          const nb = state.tau2.length;
          for (let k = 0; k < K; k++) expect(state.energy[k * nb + b], `trial ${from + b}: ||z_${k}||^2`).to.equal(whole.energy[k * B + from + b]);
        }
      tf.dispose([d.y.re, d.y.im, d.s.re, d.s.im, d.beta]);
    });
  }

  // The WebAssembly denoiser repeats the JavaScript loop operation for operation in float64: equal bits.
  for (const [c, m] of settings.flatMap((c) => [3, 4, 5].map((m) => [c, m] as const))) {
    it(`${c.name}, M = ${m}: the WebAssembly kernels give the JavaScript loops' numbers bit for bit`, () => {
      expect(ampWasm(), 'the WebAssembly kernels load (Node >= 16.4 has WebAssembly SIMD)').to.not.equal(undefined);
      const d = draw(B, L, N, c.Q, m, c.perTrial, `wasm ${c.name}`);
      const K = N * c.Q;
      const seen: number[][] = [];
      const observe = (t: number, z: ArrayLike<number>) => void (t === 5 && seen.push(Array.from(z)));
      const wasm = hostMmvAmp({ ...input(d, L, m, N, c.Q), wasm: true }, { ...c.options, observe });
      const js = hostMmvAmp({ ...input(d, L, m, N, c.Q), wasm: false }, { ...c.options, observe });
      expect(seen[0], 'Z_5').to.deep.equal(seen[1]);
      for (let b = 0; b < B; b++) expect(trialX(wasm, b, K, m), `trial ${b}: X_T`).to.deep.equal(trialX(js, b, K, m));
      expect(Array.from(wasm.energy)).to.deep.equal(Array.from(js.energy));
      expect(Array.from(wasm.residualNorms)).to.deep.equal(Array.from(js.residualNorms));
      expect(Array.from(wasm.tau2)).to.deep.equal(Array.from(js.tau2));
      // without an observer, one codebook per trial runs trial by trial (the kernels' one-trial pass)
      const [wasmAlone, jsAlone] = [true, false].map((flag) => hostMmvAmp({ ...input(d, L, m, N, c.Q), wasm: flag }, c.options));
      for (let b = 0; b < B; b++) expect(trialX(wasmAlone, b, K, m), `trial ${b}: X_T without an observer`).to.deep.equal(trialX(jsAlone, b, K, m));
      expect(Array.from(wasmAlone.residualNorms)).to.deep.equal(Array.from(jsAlone.residualNorms));
      tf.dispose([d.y.re, d.y.im, d.s.re, d.s.im, d.beta]);
    });
  }

  it('the WebAssembly kernels are the compilation of their AssemblyScript sources (pnpm run build:wasm)', function () {
    this.timeout(60_000);
    const run = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'build-wasm.js'), '--check'], { encoding: 'utf8' });
    expect(run.status, run.stderr).to.equal(0);
  });

  it('the JavaScript fallback gives the native path\'s numbers to float32 rounding', function () {
    if (!blas().native) this.skip();
    const d = draw(B, L, N, 1, M, false, 'fallback');
    const options = settings[0].options;
    const native = hostMmvAmp(input(d, L, M, N, 1), options);
    process.env.GFRA_BLAS = 'javascript';
    resetBlasForTests();
    expect(blas().native).to.equal(false);
    const js = hostMmvAmp(input(d, L, M, N, 1), options);
    let diff = 0;
    let size = 0;
    for (let b = 0; b < B; b++) {
      const [a, c] = [trialX(native, b, N, M), trialX(js, b, N, M)];
      a.forEach((v, i) => ((diff += (v - c[i]) ** 2), (size += v * v)));
    }
    expect(Math.sqrt(diff / size)).to.be.at.most(3e-5);
    tf.dispose([d.y.re, d.y.im, d.s.re, d.s.im, d.beta]);
  });
});

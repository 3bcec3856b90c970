import { expect } from 'chai';
import { IMPOSSIBLE_LOG_PRIOR, MAX_HYPOTHESES_PER_RESOURCE, mpaDetectHost, scmaFactorGraph, type MpaHostInput, type ScmaFactorGraph } from './mpa-host';
import { bruteForce, naiveMpa, scma6x4, simulate, type Book, type Cplx, type Trials } from '../testing/scma-reference';
import { mpaWasm } from './wasm';

/** float64 unit roundoff. */
const U64 = 2 ** -53;

/** The codebook [L, N*Q] row-major (column n*Q + q), float64. */
function hostCodebook(book: Book): { re: Float64Array; im: Float64Array } {
  const N = book.length;
  const Q = book[0].length;
  const L = book[0][0].length;
  const re = new Float64Array(L * N * Q);
  const im = new Float64Array(L * N * Q);
  for (let l = 0; l < L; l++) {
    for (let n = 0; n < N; n++) {
      for (let q = 0; q < Q; q++) [re[l * N * Q + n * Q + q], im[l * N * Q + n * Q + q]] = book[n][q][l];
    }
  }
  return { re, im };
}

function graphOf(book: Book, perDevice?: number[]): ScmaFactorGraph {
  const { re, im } = hostCodebook(book);
  return scmaFactorGraph(re, im, book.length, book[0].length, perDevice);
}

/** Trials [from, to) as the kernel's input (float64: y [B, L, M], h [B, N, L, M]). */
function hostInput(t: Trials, from = 0, to = t.B, sigma2 = t.sigma2): MpaHostInput {
  const ys = t.y.slice(from, to).flat(2) as Cplx[];
  const hs = t.h.slice(from, to).flat(3) as Cplx[];
  return {
    trials: to - from,
    antennas: t.M,
    yRe: Float64Array.from(ys, (z) => z[0]),
    yIm: Float64Array.from(ys, (z) => z[1]),
    hRe: Float64Array.from(hs, (z) => z[0]),
    hIm: Float64Array.from(hs, (z) => z[1]),
    noiseVar: sigma2,
  };
}

interface Run {
  readonly message: Int32Array;
  readonly bitLLR: Float64Array;
  readonly belief: Float64Array;
}

function run(g: ScmaFactorGraph, input: MpaHostInput, iterations: number, variant: 'log-mpa' | 'max-log-mpa', wasm = true): Run {
  const { trials: B } = input;
  const out = {
    message: new Int32Array(B * g.numDevices),
    bitLLR: new Float64Array(B * g.numDevices * g.bits),
    belief: new Float64Array(B * g.numDevices * g.messages),
  };
  mpaDetectHost(g, input, { iterations, variant }, out, wasm);
  return out;
}

/** b - max_q b per user (beliefs are defined up to a constant per user); -Infinity stays. */
function normalised(belief: ArrayLike<number>, Q: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < belief.length; i += Q) {
    const row = Array.from({ length: Q }, (_, q) => belief[i + q]);
    const top = Math.max(...row);
    out.push(...row.map((v) => v - top));
  }
  return out;
}

/** index of the first maximum */
const argmax = (xs: number[]) => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);

/** Expect equal -Infinity positions and finite entries within tol. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number, what: string): void {
  expect(got.length, what).to.equal(want.length);
  for (let i = 0; i < want.length; i++) {
    if (want[i] === -Infinity) expect(got[i], `${what}[${i}]`).to.equal(-Infinity);
    else expect(got[i], `${what}[${i}]`).to.be.closeTo(want[i], tol(i));
  }
}

const SCMA = scma6x4();
const PTS: Cplx[] = [[1, 0.2], [-0.3, 1], [-1, -0.4], [0.5, -1]];
const rot = (z: Cplx, a: number): Cplx => [z[0] * Math.cos(a) - z[1] * Math.sin(a), z[0] * Math.sin(a) + z[1] * Math.cos(a)];
/** A chain: user 0 on RE 0, user 1 on both, user 2 on RE 1 (a tree, d_f = 2). */
const CHAIN: Book = [PTS.map((z) => [z, [0, 0]]), PTS.map((z) => [rot(z, 1), rot(z, 2.2)]), PTS.map((z) => [[0, 0], rot(z, 0.6)])];
/**
 * A ring: user n on REs n and n + 1 (mod 4), so that RE l carries users l - 1 and l (d_f = 2, one
 * loop); every message into an RE is non-zero after the first iteration.
 */
const RING: Book = [0, 1, 2, 3].map((n) => PTS.map((z) => [0, 1, 2, 3].map((l): Cplx => (l === n || l === (n + 1) % 4 ? rot(z, 0.7 * n + 0.3 * l) : [0, 0]))));
/** A star: RE 0 carries users 0, 1, 2, RE 1 user 1 only (a tree, d_f = 3, two dummy slots on RE 1). */
const STAR: Book = [PTS.map((z) => [z, [0, 0]]), PTS.map((z) => [rot(z, 1), rot(z, 2.2)]), PTS.map((z) => [rot(z, 0.6), [0, 0]])];

describe('algorithms/mpa-host', () => {
  it('builds the factor graph tables: 6x4 SCMA, a star with dummy slots, per-device log-priors', () => {
    const g = graphOf(SCMA);
    expect([g.numDevices, g.numResources, g.messages, g.bits, g.degree, g.hypotheses]).to.deep.equal([6, 4, 4, 2, 3, 64]);
    expect(g.users).to.deep.equal([[1, 2, 4], [0, 2, 5], [1, 3, 5], [0, 3, 4]]);
    for (let k = 0; k < 3; k++) {
      for (let q = 0; q < 4; q++) {
        // hypotheses whose slot-k digit (base 4, slot 0 most significant) is q
        const want = Array.from({ length: 64 }, (_, c) => c).filter((c) => Math.floor(c / 4 ** (2 - k)) % 4 === q);
        expect(Array.from(g.groups.subarray((k * 4 + q) * 16, (k * 4 + q + 1) * 16)), `group (${k}, ${q})`).to.deep.equal(want);
        for (const c of want) expect(g.slotIndex[c * 3 + k]).to.equal(k * 4 + q);
      }
    }
    for (let l = 0; l < 4; l++) {
      for (let k = 0; k < 3; k++) {
        const n = g.users[l][k];
        expect(g.edgeChannel[l * 3 + k]).to.equal(n * 4 + l);
        for (let q = 0; q < 4; q++) expect([g.codeRe[(l * 3 + k) * 4 + q], g.codeIm[(l * 3 + k) * 4 + q]]).to.deep.equal(SCMA[n][q][l]);
      }
    }
    // every user on two REs; its edges are the slots it occupies
    for (let n = 0; n < 6; n++) {
      const edges = Array.from(g.edgeList.subarray(g.edgeStart[n], g.edgeStart[n + 1]));
      expect(edges.map((e) => g.users[Math.floor(e / 3)][e % 3])).to.deep.equal([n, n]);
    }
    expect(g.hypothesisPrior).to.equal(undefined);

    const star = graphOf(STAR, [4, 2, 1]);
    expect(star.users).to.deep.equal([[0, 1, 2], [1, -1, -1]]);
    expect(Array.from(star.edgeChannel)).to.deep.equal([0, 2, 4, 3, -1, -1]);
    expect(Array.from(star.edgeStart)).to.deep.equal([0, 1, 3, 4]);
    expect(Array.from(star.edgeList)).to.deep.equal([0, 1, 3, 2]);
    expect(Array.from(star.codeRe.subarray(16, 24))).to.deep.equal(new Array(8).fill(0));
    // RE 0: possible iff q_1 < 2 and q_2 < 1; RE 1: iff q_1 < 2 (dummy digits free)
    for (let c = 0; c < 64; c++) {
      const [d0, d1, d2] = [Math.floor(c / 16), Math.floor(c / 4) % 4, c % 4];
      void d0;
      expect(star.hypothesisPrior?.[c], `RE 0, c = ${c}`).to.equal(d1 < 2 && d2 < 1 ? 0 : IMPOSSIBLE_LOG_PRIOR);
      expect(star.hypothesisPrior?.[64 + c], `RE 1, c = ${c}`).to.equal(Math.floor(c / 16) < 2 ? 0 : IMPOSSIBLE_LOG_PRIOR);
    }
  });

  it('refuses oversized graphs and inconsistent inputs with clear messages', () => {
    const dense = new Float64Array(2 * 8 * 4).fill(1);
    expect(() => scmaFactorGraph(dense, new Float64Array(64), 8, 4)).to.throw(
      new RegExp(`up to 8 users on one resource element, so MPA needs Q\\^d_f = 4\\^8 = 65536 joint hypotheses per resource element \\(limit ${MAX_HYPOTHESES_PER_RESOURCE}\\)`),
    );
    expect(() => graphOf(CHAIN, [4, 5, 4])).to.throw(/1 <= Q_n <= 4 for each of the 3 users/);
    const g = graphOf(CHAIN);
    const t = simulate(CHAIN, 2, 1, 0.1, 'rayleigh', 'errors');
    const ok = hostInput(t);
    const message = new Int32Array(6);
    expect(() => mpaDetectHost(g, { ...ok, trials: 3 }, { iterations: 1, variant: 'log-mpa' }, { message })).to.throw(/y has 4 entries; expected B \* L \* M = 6/);
    expect(() => mpaDetectHost(g, { ...ok, noiseVar: 0 }, { iterations: 1, variant: 'log-mpa' }, { message })).to.throw(/noiseVar must be a finite sigma\^2 > 0 \(got 0\)/);
    expect(() => mpaDetectHost(g, ok, { iterations: 1, variant: 'log-mpa' }, { message: new Int32Array(5) })).to.throw(/message output has 5 entries/);
  });

  it('is exact on trees (chain; star with dummy slots): beliefs, LLRs and decisions equal brute force (float64 bound)', () => {
    const I = 3; // messages have crossed either tree after 2 iterations
    for (const [name, book] of [['chain', CHAIN], ['star', STAR]] as const) {
      const t = simulate(book, 30, 2, 0.3, 'rayleigh', `host-tree-${name}`);
      const ref = bruteForce(book, t, t.sigma2);
      const g = graphOf(book);
      // float64: as the detector's float32 bound (16 roundings per iteration of numbers of size
      // <= 2 (I + 1) maxMetric), with u = 2^-53.
      const tol = (b: number) => 16 * U64 * 2 * (I + 1) * ref.maxMetric[b] + 1e-12;
      const log = run(g, hostInput(t), I, 'log-mpa');
      const maxLog = run(g, hostInput(t), I, 'max-log-mpa');
      const flat = (x: number[][][]) => x.flat(2);
      // log-MPA beliefs are the symbol log-posteriors up to a constant per user
      expectClose(normalised(log.belief, 4), normalised(flat(ref.logMarginal), 4), (i) => tol(Math.floor(i / 12)), `${name} log-MPA beliefs`);
      expectClose(log.bitLLR, flat(ref.llr), (i) => tol(Math.floor(i / 6)), `${name} log-MPA LLRs`);
      expectClose(maxLog.bitLLR, flat(ref.maxLogLlr), (i) => tol(Math.floor(i / 6)), `${name} max-log LLRs`);
      expect(Array.from(log.message), `${name}: symbol MAP`).to.deep.equal(ref.logMarginal.flatMap((u) => u.map(argmax)));
    }
  });

  it('is exact on a tree with per-device bits: beliefs are the posteriors restricted to q < Q_n, -Infinity above', () => {
    const perDevice = [2, 4, 1];
    for (const [name, book] of [['chain', CHAIN], ['star', STAR]] as const) {
      const t = simulate(book, 30, 1, 0.2, 'rayleigh', `host-tree-rates-${name}`, perDevice);
      const ref = bruteForce(book, t, t.sigma2, perDevice);
      const g = graphOf(book, perDevice);
      const tol = (b: number) => 16 * U64 * 2 * 4 * ref.maxMetric[b] + 1e-12;
      const out = run(g, hostInput(t), 3, 'log-mpa');
      expectClose(normalised(out.belief, 4), normalised(ref.logMarginal.flat(2), 4), (i) => tol(Math.floor(i / 12)), `${name} beliefs`);
      expect(Array.from(out.message), `${name}: symbol MAP`).to.deep.equal(ref.logMarginal.flatMap((u) => u.map(argmax)));
      for (let i = 0; i < out.message.length; i++) expect(out.message[i]).to.be.below(perDevice[i % 3]);
    }
  });

  it('on the loopy 6x4 graph equals the naive loop MPA (M = 2; uniform and per-device bits; float64 bound)', () => {
    const I = 4;
    for (const perDevice of [undefined, [2, 4, 1, 4, 2, 4]]) {
      const t = simulate(SCMA, 20, 2, 0.15, 'rayleigh', `host-naive-${perDevice === undefined ? 'uniform' : 'rates'}`, perDevice);
      const g = graphOf(SCMA, perDevice);
      for (const variant of ['log-mpa', 'max-log-mpa'] as const) {
        const got = run(g, hostInput(t), I, variant);
        const want = naiveMpa(SCMA, t, I, variant === 'max-log-mpa', perDevice);
        const what = `${variant}${perDevice === undefined ? '' : ' per-device'}`;
        // as the detector test's float32 bound (numbers reach ~ 2 (I + 1) maxMetric), with u = 2^-53
        const tol = (b: number) => 16 * U64 * 2 * (I + 1) * want.maxMetric[b] + 1e-12;
        expectClose(normalised(got.belief, 4), normalised(want.belief.flat(2), 4), (i) => tol(Math.floor(i / 24)), `${what} beliefs`);
        if (perDevice === undefined) expectClose(got.bitLLR, want.llr.flat(2), (i) => tol(Math.floor(i / 12)), `${what} LLRs`);
        expect(Array.from(got.message), what).to.deep.equal(want.belief.flatMap((u) => u.map(argmax)));
      }
    }
  });

  it('high SNR (sigma^2 = 1e-4): groups far below their RE maximum are redone in the log domain and still equal the naive MPA', () => {
    const I = 4;
    const t = simulate(SCMA, 20, 1, 1e-4, 'rayleigh', 'host-high-snr');
    const g = graphOf(SCMA);
    const got = run(g, hostInput(t), I, 'log-mpa');
    const want = naiveMpa(SCMA, t, I, false);
    // the regime of the fallback: some symbol's belief lies more than 624 (2^-900 = e^-624) below the best
    expect(Math.min(...normalised(want.belief.flat(2), 4))).to.be.below(-1000);
    const tol = (b: number) => 16 * U64 * 2 * (I + 1) * want.maxMetric[b] + 1e-12;
    expectClose(normalised(got.belief, 4), normalised(want.belief.flat(2), 4), (i) => tol(Math.floor(i / 24)), 'beliefs');
    expectClose(got.bitLLR, want.llr.flat(2), (i) => tol(Math.floor(i / 12)), 'LLRs');
    expect(Array.from(got.message)).to.deep.equal(t.messages.flat());
  });

  it('Log-MPA and Max-Log-MPA: the WebAssembly kernels give the numbers of the JavaScript loops bit for bit (6x4 with an odd batch, high SNR, per-device bits, a star with dummy slots, d_f = 2 on a chain and on a ring)', () => {
    expect(mpaWasm(), 'the kernel loads here').to.not.equal(undefined);
    const rates = [2, 4, 1, 4, 2, 4];
    const cases: { name: string; book: Book; t: Trials; perDevice?: number[] }[] = [
      { name: '6x4, 7 trials, M = 2', book: SCMA, t: simulate(SCMA, 7, 2, 0.15, 'rayleigh', 'host-wasm-6x4') },
      // the small-group fallback runs in some lanes and not in others
      { name: '6x4, sigma^2 = 1e-4', book: SCMA, t: simulate(SCMA, 9, 1, 1e-4, 'rayleigh', 'host-wasm-high-snr') },
      { name: 'star (d_f = 3, dummy slots), 5 trials', book: STAR, t: simulate(STAR, 5, 2, 0.3, 'rayleigh', 'host-wasm-star') },
      // d_f = 2: the kernels' general loops (d_f = 3 has its own); on the ring every slot's
      // incoming message is non-zero, so that the order of their sums and products shows
      { name: 'chain (d_f = 2), 4 trials', book: CHAIN, t: simulate(CHAIN, 4, 2, 0.3, 'rayleigh', 'host-wasm-chain') },
      { name: 'ring (d_f = 2, a loop), 5 trials', book: RING, t: simulate(RING, 5, 2, 0.3, 'rayleigh', 'host-wasm-ring') },
      // per-device bits: the impossible hypotheses' log-prior in phi, -Infinity beliefs
      { name: '6x4 with per-device bits, 7 trials', book: SCMA, t: simulate(SCMA, 7, 2, 0.15, 'rayleigh', 'host-wasm-rates', rates), perDevice: rates },
      { name: 'ring with per-device bits, 5 trials', book: RING, t: simulate(RING, 5, 1, 0.3, 'rayleigh', 'host-wasm-ring-rates', [4, 1, 2, 4]), perDevice: [4, 1, 2, 4] },
    ];
    for (const { name, book, t, perDevice } of cases) {
      const g = graphOf(book, perDevice);
      for (const variant of ['log-mpa', 'max-log-mpa'] as const) {
        const kernel = run(g, hostInput(t), 6, variant, true);
        const loops = run(g, hostInput(t), 6, variant, false);
        for (const key of ['message', 'bitLLR', 'belief'] as const) {
          const differ = Array.from(kernel[key]).filter((v, i) => !Object.is(v, loops[key][i])).length;
          expect(differ, `${name}, ${variant}: ${key} entries that differ`).to.equal(0);
        }
      }
    }
  });

  it('gives identical numbers whatever the batch split (10 trials at once and as 3 + 7)', () => {
    for (const perDevice of [undefined, [2, 4, 1, 4, 2, 4]]) {
      const t = simulate(SCMA, 10, 2, 0.2, 'rayleigh', 'host-split', perDevice);
      const g = graphOf(SCMA, perDevice);
      for (const variant of ['log-mpa', 'max-log-mpa'] as const) {
        const whole = run(g, hostInput(t), 5, variant);
        const head = run(g, hostInput(t, 0, 3), 5, variant);
        const tail = run(g, hostInput(t, 3, 10), 5, variant);
        for (const key of ['message', 'bitLLR', 'belief'] as const) {
          expect([...head[key], ...tail[key]], `${variant} ${key}`).to.deep.equal(Array.from(whole[key]));
        }
      }
    }
  });
});

/**
 * Test data and independent references shared by the SCMA tests (plain JavaScript, float64),
 * restated here so that they do not depend on the encoder package or on the detector's code: the
 * 6x4 SCMA codebook, a trial simulator, brute force over all joint hypotheses, and a naive loop
 * implementation of the MPA equations.
 */
import { Generator } from '@gfra/core';

/** A complex number as [re, im]. */
export type Cplx = [number, number];
/** codebook[n][q][l] = [re, im] */
export type Book = Cplx[][][];

/**
 * The published 6-user, 4-RE, 4-point SCMA codebook (5G algorithm innovation competition, 2015),
 * restated here as test data so that these tests do not depend on the encoder package: the
 * point set each user puts on REs 0..3 (Z = unused).
 */
export function scma6x4(): Book {
  const A: Cplx[] = [[0.7851, 0], [-0.2243, 0], [0.2243, 0], [-0.7851, 0]];
  const Bs: Cplx[] = [[-0.1815, -0.1318], [-0.6351, -0.4615], [0.6351, 0.4615], [0.1815, 0.1318]];
  const Cs: Cplx[] = [[-0.6351, 0.4615], [0.1815, -0.1318], [-0.1815, 0.1318], [0.6351, -0.4615]];
  const D: Cplx[] = [[0.1392, -0.1759], [0.4873, -0.6156], [-0.4873, 0.6156], [-0.1392, 0.1759]];
  const E: Cplx[] = [[-0.0055, -0.2242], [-0.0193, -0.7848], [0.0193, 0.7848], [0.0055, 0.2242]];
  const Z: Cplx[] = [[0, 0], [0, 0], [0, 0], [0, 0]];
  const layout = [[Z, Bs, Z, A], [A, Z, Bs, Z], [Cs, D, Z, Z], [Z, Z, A, E], [E, Z, Z, Cs], [Z, A, D, Z]];
  return layout.map((perRe) => [0, 1, 2, 3].map((q) => perRe.map((set) => set[q])));
}

/** B simulated trials of a codebook. */
export interface Trials {
  readonly B: number;
  readonly N: number;
  readonly L: number;
  readonly M: number;
  readonly Q: number;
  /** messages[b][n] */
  readonly messages: number[][];
  /** h[b][n][l][m] */
  readonly h: Cplx[][][][];
  /** y[b][l][m] */
  readonly y: Cplx[][][];
  readonly sigma2: number;
}

/**
 * Draw B trials: uniform messages (on [0, Q_n) with `perDevice`, else [0, Q)), h CN(0, 1) per
 * (n, l, m) or 1 (awgn), noise CN(0, sigma2) (0: noiseless).
 */
export function simulate(book: Book, B: number, M: number, sigma2: number, mode: 'rayleigh' | 'awgn', seed: string, perDevice?: readonly number[]): Trials {
  const N = book.length;
  const Q = book[0].length;
  const L = book[0][0].length;
  const g = Generator.fromKey(['scma-mpa-test', seed]);
  const cn = (v: number): Cplx => [Math.sqrt(v / 2) * g.normal(), Math.sqrt(v / 2) * g.normal()];
  const messages: number[][] = [];
  const h: Cplx[][][][] = [];
  const y: Cplx[][][] = [];
  for (let b = 0; b < B; b++) {
    const m = Array.from({ length: N }, (_, n) => g.integer(perDevice?.[n] ?? Q));
    const hb = Array.from({ length: N }, () => Array.from({ length: L }, () => Array.from({ length: M }, (): Cplx => (mode === 'awgn' ? [1, 0] : cn(1)))));
    const yb = Array.from({ length: L }, (_, l) =>
      Array.from({ length: M }, (_, mm): Cplx => {
        const w = sigma2 > 0 ? cn(sigma2) : ([0, 0] as Cplx);
        let re = w[0];
        let im = w[1];
        for (let n = 0; n < N; n++) {
          const [xr, xi] = book[n][m[n]][l];
          const [hr, hi] = hb[n][l][mm];
          re += hr * xr - hi * xi;
          im += hr * xi + hi * xr;
        }
        return [re, im];
      }),
    );
    messages.push(m);
    h.push(hb);
    y.push(yb);
  }
  return { B, N, L, M, Q, messages, h, y, sigma2 };
}

/** What brute force over all joint hypotheses gives. */
export interface Reference {
  /** Joint ML decision: argmax over all Q^N hypotheses of p(y | q_1..q_N). */
  readonly jointMl: number[][];
  /** Exact bitwise-MAP LLRs log P(b = 1 | y) / P(b = 0 | y) (uniform priors), [b][n][j]. */
  readonly llr: number[][][];
  /** Max-log bit metrics: max over hypotheses with b = 1 minus max with b = 0, [b][n][j]. */
  readonly maxLogLlr: number[][][];
  /** Exact symbol log-posteriors log P(q_n = q | y) (uniform priors), [b][n][q]; -Infinity for q >= Q_n. */
  readonly logMarginal: number[][][];
  /** Per trial: the largest |log p(y | q)| over the (possible) hypotheses (the size of the numbers MPA adds). */
  readonly maxMetric: number[];
}

/**
 * Brute force over all Q^N joint hypotheses, every user on every RE (zeros included; no use of
 * the factor graph): log p(y | q) = -sum_{l,m} |y - sum_n h x_{n, q_n}|^2 / sigma^2 + const.
 * With `perDevice` (Q_n per user), hypotheses with some q_n >= Q_n have probability 0.
 */
export function bruteForce(book: Book, t: Trials, sigma2: number, perDevice?: readonly number[]): Reference {
  const { N, L, M, Q } = t;
  const J = Math.log2(Q);
  const H = Q ** N;
  const LM = L * M;
  const jointMl: number[][] = [];
  const llr: number[][][] = [];
  const maxLogLlr: number[][][] = [];
  const logMarginal: number[][][] = [];
  const maxMetric: number[] = [];
  const metric = new Float64Array(H);
  // hx[((n * Q + q) * LM + i) * 2 + part]: h[n, l, m] x_{n, q}[l], i = l * M + m
  const hx = new Float64Array(N * Q * LM * 2);
  const possible = (c: number) => (perDevice ?? []).every((Qn, n) => ((c >> (n * J)) & (Q - 1)) < Qn);
  for (let b = 0; b < t.B; b++) {
    for (let n = 0; n < N; n++) {
      for (let q = 0; q < Q; q++) {
        for (let l = 0; l < L; l++) {
          for (let m = 0; m < M; m++) {
            const [xr, xi] = book[n][q][l];
            const [hr, hi] = t.h[b][n][l][m];
            const k = ((n * Q + q) * LM + l * M + m) * 2;
            hx[k] = hr * xr - hi * xi;
            hx[k + 1] = hr * xi + hi * xr;
          }
        }
      }
    }
    let best = 0;
    let biggest = 0;
    for (let c = 0; c < H; c++) {
      if (perDevice !== undefined && !possible(c)) {
        metric[c] = -Infinity;
        continue;
      }
      let d = 0;
      for (let i = 0; i < LM; i++) {
        const [yr, yi] = t.y[b][Math.floor(i / M)][i % M];
        let re = yr;
        let im = yi;
        for (let n = 0; n < N; n++) {
          const q = (c >> (n * J)) & (Q - 1); // user n's codeword is digit n of c (base Q, least significant first)
          const k = ((n * Q + q) * LM + i) * 2;
          re -= hx[k];
          im -= hx[k + 1];
        }
        d += re * re + im * im;
      }
      metric[c] = -d / sigma2;
      biggest = Math.max(biggest, Math.abs(metric[c]));
      if (metric[c] > metric[best]) best = c;
    }
    jointMl.push(Array.from({ length: N }, (_, n) => (best >> (n * J)) & (Q - 1)));
    maxMetric.push(biggest);
    const top = metric[best];
    const sums = Array.from({ length: N }, () => Array.from({ length: J }, () => [0, 0]));
    const maxes = Array.from({ length: N }, () => Array.from({ length: J }, () => [-Infinity, -Infinity]));
    const perSymbol = Array.from({ length: N }, () => new Array<number>(Q).fill(0));
    for (let c = 0; c < H; c++) {
      const p = Math.exp(metric[c] - top);
      for (let n = 0; n < N; n++) {
        const q = (c >> (n * J)) & (Q - 1);
        perSymbol[n][q] += p;
        for (let j = 0; j < J; j++) {
          const bit = (q >> (J - 1 - j)) & 1; // MSB first
          sums[n][j][bit] += p;
          if (metric[c] > maxes[n][j][bit]) maxes[n][j][bit] = metric[c];
        }
      }
    }
    llr.push(sums.map((u) => u.map(([p0, p1]) => Math.log(p1) - Math.log(p0))));
    maxLogLlr.push(maxes.map((u) => u.map(([m0, m1]) => m1 - m0)));
    logMarginal.push(
      perSymbol.map((ps) => {
        const total = ps.reduce((s, p) => s + p, 0);
        return ps.map((p) => Math.log(p / total));
      }),
    );
  }
  return { jointMl, llr, maxLogLlr, logMarginal, maxMetric };
}

/** What {@link naiveMpa} gives. */
export interface NaiveMpa {
  /** Bit LLRs [b][n][j] (meaningful only without `perDevice`). */
  readonly llr: number[][][];
  /** Final beliefs b_n(q) [b][n][q] (-Infinity for q >= Q_n). */
  readonly belief: number[][][];
  /** Per trial: the largest |phi_l(c)| over the REs and (possible) hypotheses. */
  readonly maxMetric: number[];
}

/**
 * A naive per-trial loop implementation of the MPA equations in the plugin's doc comment (flooding
 * schedule, uniform priors), written independently of the vectorised plugin and of the host
 * kernel: only the real users of each RE (no dummy slots), no normalisation of the user -> RE
 * messages, and with `perDevice` the joint hypotheses with some q_n >= Q_n simply left out (an
 * exact -Infinity, not a finite stand-in).
 */
export function naiveMpa(book: Book, t: Trials, iterations: number, maxLog: boolean, perDevice?: readonly number[]): NaiveMpa {
  const { N, L, M, Q } = t;
  const J = Math.log2(Q);
  const lse = (xs: number[]) => {
    const top = Math.max(...xs);
    if (top === -Infinity) return -Infinity;
    return maxLog ? top : top + Math.log(xs.reduce((s, x) => s + Math.exp(x - top), 0));
  };
  const limit = (n: number) => perDevice?.[n] ?? Q;
  const onRe = Array.from({ length: L }, (_, l) => [...Array(N).keys()].filter((n) => book[n].some((cw) => cw[l][0] !== 0 || cw[l][1] !== 0)));
  const out: number[][][] = [];
  const beliefs: number[][][] = [];
  const maxMetric: number[] = [];
  for (let b = 0; b < t.B; b++) {
    // phi[l][c], c indexes the codewords of onRe[l] (base Q, first user most significant); -Infinity where impossible
    const phi = onRe.map((us, l) =>
      Array.from({ length: Q ** us.length }, (_, c) => {
        let d = 0;
        let possible = true;
        for (let m = 0; m < M; m++) {
          let [re, im] = t.y[b][l][m];
          us.forEach((n, k) => {
            const q = Math.floor(c / Q ** (us.length - 1 - k)) % Q;
            if (q >= limit(n)) possible = false;
            const [xr, xi] = book[n][q][l];
            const [hr, hi] = t.h[b][n][l][m];
            re -= hr * xr - hi * xi;
            im -= hr * xi + hi * xr;
          });
          d += re * re + im * im;
        }
        return possible ? -d / t.sigma2 : -Infinity;
      }),
    );
    maxMetric.push(Math.max(...phi.flat().filter(Number.isFinite).map(Math.abs)));
    const vf = onRe.map((us) => us.map(() => new Array<number>(Q).fill(0))); // vf[l][k][q]: user onRe[l][k] -> RE l
    let fv = onRe.map((us) => us.map(() => new Array<number>(Q).fill(0))); // fv[l][k][q]: RE l -> user onRe[l][k]
    for (let it = 0; it < iterations; it++) {
      fv = onRe.map((us, l) =>
        us.map((_, k) =>
          Array.from({ length: Q }, (_, q) => {
            const terms: number[] = [];
            for (let c = 0; c < phi[l].length; c++) {
              const digits = us.map((__, kk) => Math.floor(c / Q ** (us.length - 1 - kk)) % Q);
              if (digits[k] !== q || phi[l][c] === -Infinity) continue;
              terms.push(phi[l][c] + digits.reduce((s, dq, kk) => (kk === k ? s : s + vf[l][kk][dq]), 0));
            }
            return lse(terms);
          }),
        ),
      );
      onRe.forEach((us, l) =>
        us.forEach((n, k) => {
          for (let q = 0; q < Q; q++) {
            let sum = 0;
            onRe.forEach((us2, l2) => {
              if (l2 !== l && us2.includes(n)) sum += fv[l2][us2.indexOf(n)][q];
            });
            vf[l][k][q] = sum;
          }
        }),
      );
    }
    const belief = Array.from({ length: N }, (_, n) =>
      Array.from({ length: Q }, (_, q) => (q >= limit(n) ? -Infinity : onRe.reduce((s, us, l) => (us.includes(n) ? s + fv[l][us.indexOf(n)][q] : s), 0))),
    );
    beliefs.push(belief);
    out.push(
      belief.map((bn) =>
        Array.from({ length: J }, (_, j) => {
          const ones = bn.filter((_, q) => (q >> (J - 1 - j)) & 1);
          const zeros = bn.filter((_, q) => !((q >> (J - 1 - j)) & 1));
          return lse(ones) - lse(zeros);
        }),
      ),
    );
  }
  return { llr: out, belief: beliefs, maxMetric };
}

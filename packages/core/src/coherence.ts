/**
 * Coherence measures of a pilot (measurement) matrix, as Y. Cui, S. Li, W. Zhang, "Jointly Sparse
 * Signal Recovery and Support Recovery via Deep Learning With Applications in MIMO-Based
 * Grant-Free Random Access" [Cui2021] use them to explain what the learned pilots do (Sec. V,
 * Figs. 5(e), 6(d-e), 10(e), 11(e-f)). The block measures are those of Y. C. Eldar, P. Kuppinger,
 * H. Bölcskei, "Block-Sparse Signals: Uncertainty Relations and Efficient Recovery" [Eldar2010],
 * which [Cui2021] cites for them. With unit-norm columns c_n = a_n / ||a_n|| and G groups of
 * d = N / G consecutive columns C[g] (L x d):
 *
 *   coherence        mu   = max_{i != j} |c_i^H c_j|
 *   block-coherence  mu_B = max_{g != g'} (1/d) ||C[g]^H C[g']||_2     (spectral norm)
 *   sub-coherence    nu   = max_g max_{i != j in g} |c_i^H c_j|
 *
 * For the learned matrix [Cui2021] averages over the groups instead of taking the outer max
 * (Sec. V-A); both are returned: `blockMean` = mean over g of max_{g' != g}, `subMean` = mean over
 * g of the within-group max.
 *
 * Matrices are host arrays, row-major [L, N] (re, im), as in a gfra transmit object.
 */

export interface CoherenceMeasures {
  /** max_{i != j} |c_i^H c_j|. */
  readonly coherence: number;
  /** max_{g != g'} (1/d) ||C[g]^H C[g']||_2 (undefined without groups or with one group). */
  readonly blockCoherence?: number;
  /** Mean over g of max_{g' != g} (1/d) ||C[g]^H C[g']||_2 (the averaged version of [Cui2021], Sec. V-A). */
  readonly blockCoherenceMean?: number;
  /** max_g max_{i != j in g} |c_i^H c_j| (undefined without groups or with one device per group). */
  readonly subCoherence?: number;
  /** Mean over g of the within-group maximum. */
  readonly subCoherenceMean?: number;
}

/** Gram matrix G = C^H C of the column-normalised matrix, as re/im [N * N] row-major. */
function normalisedGram(re: ArrayLike<number>, im: ArrayLike<number>, L: number, N: number): { re: Float64Array; im: Float64Array } {
  const norms = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let l = 0; l < L; l++) s += re[l * N + n] ** 2 + im[l * N + n] ** 2;
    if (s === 0) throw new Error(`column ${n} of the pilot matrix is zero; coherence is undefined`);
    norms[n] = Math.sqrt(s);
  }
  const gr = new Float64Array(N * N);
  const gi = new Float64Array(N * N);
  for (let i = 0; i < N; i++)
    for (let j = i; j < N; j++) {
      // c_i^H c_j = sum_l conj(a_li) a_lj / (|a_i| |a_j|)
      let sr = 0;
      let si = 0;
      for (let l = 0; l < L; l++) {
        const [ar, ai, br, bi] = [re[l * N + i], im[l * N + i], re[l * N + j], im[l * N + j]];
        sr += ar * br + ai * bi;
        si += ar * bi - ai * br;
      }
      const s = norms[i] * norms[j];
      gr[i * N + j] = sr / s;
      gi[i * N + j] = si / s;
      gr[j * N + i] = sr / s;
      gi[j * N + i] = -si / s;
    }
  return { re: gr, im: gi };
}

/**
 * Spectral norm of the complex d x d block W = G[rows of g, columns of h] of a Gram matrix:
 * sqrt(largest eigenvalue of W^H W), by power iteration on the Hermitian PSD W^H W from a fixed
 * start (converged to 1e-12 relative, or 10000 iterations).
 */
export function blockSpectralNorm(gram: { re: Float64Array; im: Float64Array }, N: number, g: number, h: number, d: number): number {
  // W[a, b] = G[g d + a, h d + b]
  const w = (a: number, b: number): [number, number] => [gram.re[(g * d + a) * N + h * d + b], gram.im[(g * d + a) * N + h * d + b]];
  const start = Math.sqrt(Array.from({ length: d }, (_, k) => (1 + 0.1 * k) ** 2).reduce((s, v) => s + v, 0));
  let vr = Array.from({ length: d }, (_, k) => (1 + 0.1 * k) / start);
  let vi = new Array<number>(d).fill(0);
  let lambda = 0;
  for (let it = 0; it < 10000; it++) {
    // u = W v, then z = W^H u
    const ur = new Array<number>(d).fill(0);
    const ui = new Array<number>(d).fill(0);
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) {
        const [xr, xi] = w(a, b);
        ur[a] += xr * vr[b] - xi * vi[b];
        ui[a] += xr * vi[b] + xi * vr[b];
      }
    const zr = new Array<number>(d).fill(0);
    const zi = new Array<number>(d).fill(0);
    for (let b = 0; b < d; b++)
      for (let a = 0; a < d; a++) {
        const [xr, xi] = w(a, b); // conj(W[a, b])
        zr[b] += xr * ur[a] + xi * ui[a];
        zi[b] += xr * ui[a] - xi * ur[a];
      }
    let norm = 0;
    for (let k = 0; k < d; k++) norm += zr[k] ** 2 + zi[k] ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) return 0;
    const previous = lambda;
    // with ||v|| = 1, ||W^H W v|| -> lambda_max
    lambda = norm;
    vr = zr.map((x) => x / norm);
    vi = zi.map((x) => x / norm);
    if (it > 0 && Math.abs(lambda - previous) <= 1e-12 * lambda) break;
  }
  return Math.sqrt(lambda);
}

/**
 * Coherence, and with `groups` (G dividing N) block- and sub-coherence, of the pilot matrix
 * re/im [L, N] (row-major).
 */
export function coherenceMeasures(re: ArrayLike<number>, im: ArrayLike<number>, L: number, N: number, groups?: number): CoherenceMeasures {
  if (re.length !== L * N || im.length !== L * N) throw new Error(`expected ${L} x ${N} = ${L * N} entries, got ${re.length} (re) and ${im.length} (im)`);
  if (N < 2) throw new Error('coherence needs at least two columns');
  const gram = normalisedGram(re, im, L, N);
  const abs = (i: number, j: number) => Math.hypot(gram.re[i * N + j], gram.im[i * N + j]);
  let coherence = 0;
  for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) coherence = Math.max(coherence, abs(i, j));
  if (groups === undefined) return { coherence };
  if (!Number.isInteger(groups) || groups < 1 || N % groups !== 0) throw new Error(`groups must be a positive divisor of N = ${N} (got ${groups})`);
  const d = N / groups;
  const out: { -readonly [K in keyof CoherenceMeasures]: CoherenceMeasures[K] } = { coherence };
  if (d > 1) {
    const within = Array.from({ length: groups }, (_, g) => {
      let m = 0;
      for (let i = g * d; i < (g + 1) * d; i++) for (let j = i + 1; j < (g + 1) * d; j++) m = Math.max(m, abs(i, j));
      return m;
    });
    out.subCoherence = Math.max(...within);
    out.subCoherenceMean = within.reduce((s, v) => s + v, 0) / groups;
  }
  if (groups > 1) {
    const across = Array.from({ length: groups }, (_, g) => {
      let m = 0;
      for (let h = 0; h < groups; h++) if (h !== g) m = Math.max(m, blockSpectralNorm(gram, N, g, h, d) / d);
      return m;
    });
    out.blockCoherence = Math.max(...across);
    out.blockCoherenceMean = across.reduce((s, v) => s + v, 0) / groups;
  }
  return out;
}

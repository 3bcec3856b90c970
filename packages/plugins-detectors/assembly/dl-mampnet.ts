// AssemblyScript source of the WebAssembly kernels of `src/dl-mampnet/layer-kernel.ts` (compiled
// by `pnpm run build:wasm` into `src/algorithms/wasm/dl-mampnet.generated.ts`): the per-entry op
// of one DL-mAMPnet AMP layer (`ampNonlinearity` of src/dl-mampnet/network.ts), its forward pass
// and its closed-form gradient, four entries per f32x4 lane group.
//
// Per entry the arithmetic is float32, operation for operation the tfjs formulation (the same
// operations in the same order; the tfjs kernels' log1p, exp and sigmoid are replaced by the
// polynomial log and exp below, accurate to about 1 ulp), so the results agree with tfjs's to
// float32 rounding, not bit for bit. Every sum (over the entries of a trial, over the trials of an
// entry, over everything) is float64 in a fixed order: lane j of a group of four adds into its own
// float64 accumulator lane, groups in increasing entry order, trials in increasing order; a row's
// last E mod 4 entries go through the same code with the unused lanes masked out. The results
// depend on the inputs only.
//
// Layout: z, x, p, dx, dz are [B, E] row-major float32 (E = M 2NQ entries per trial), theta1,
// theta2 [E] float32, tau2 and dOnsager [B] float32; sums float64. Pointers are byte offsets into
// this module's memory, which the JavaScript side lays out.

const ONE = f32x4.splat(1.0);
const HALF = f32x4.splat(0.5);
const TWO = f32x4.splat(2.0);
const LANES = i32x4(0, 1, 2, 3);

/**
 * e^x per lane (Cephes expf: x = n ln 2 + r, |r| <= ln2 / 2, degree-5 polynomial; about 1 ulp);
 * 0 below -87 (where e^x nears the float32 subnormals, which would cost a slow path in every later
 * operation; e^-87 = 1.6e-38 is below a rounding of the 1 it is added to here), Infinity above 88.72.
 */
@inline
function exp4(x: v128): v128 {
  const xc = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.72)), f32x4.splat(-87.0));
  // n = round(x log2 e) (to nearest even) by the 1.5 2^23 shift: the sum's low mantissa bits are n
  const shift = f32x4.splat(12582912.0);
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(1.44269504088896341)), shift);
  const n = f32x4.sub(t, shift);
  const ni = i32x4.sub(t, shift);
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  // c0 + c1 r + ... + c5 r^5 (Cephes expf) by Estrin's scheme
  const r2 = f32x4.mul(r, r);
  const q01 = f32x4.add(f32x4.splat(5.0000001201e-1), f32x4.mul(r, f32x4.splat(1.6666665459e-1)));
  const q23 = f32x4.add(f32x4.splat(4.1665795894e-2), f32x4.mul(r, f32x4.splat(8.3334519073e-3)));
  const q45 = f32x4.add(f32x4.splat(1.3981999507e-3), f32x4.mul(r, f32x4.splat(1.9875691500e-4)));
  let y = f32x4.add(q01, f32x4.mul(r2, f32x4.add(q23, f32x4.mul(r2, q45))));
  y = f32x4.add(f32x4.add(f32x4.mul(y, r2), r), ONE);
  // 2^n as 2^h 2^(n - h), h = n >> 1: both factors normal for n in -126 .. 128
  const h = i32x4.shr_s(ni, 1);
  const bias = i32x4.splat(127);
  const e = f32x4.mul(f32x4.mul(y, i32x4.shl(i32x4.add(h, bias), 23)), i32x4.shl(i32x4.add(i32x4.sub(ni, h), bias), 23));
  const over = v128.bitselect(f32x4.splat(Infinity), e, f32x4.gt(x, f32x4.splat(88.72)));
  const under = v128.bitselect(f32x4.splat(0.0), over, f32x4.lt(x, f32x4.splat(-87.0)));
  // NaN in, NaN out
  return v128.bitselect(x, under, f32x4.ne(x, x));
}

/** log x per lane for positive normal x (Cephes logf: x = m 2^e, m in [sqrt(1/2), sqrt(2)), degree-9 polynomial in m - 1; about 1 ulp). */
@inline
function log4(x: v128): v128 {
  let e = i32x4.sub(i32x4.shr_u(x, 23), i32x4.splat(126));
  const m = v128.or(v128.and(x, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000)); // [1/2, 1)
  const small = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = i32x4.add(e, small); // -1 where m < sqrt(1/2) (then 2m - 1)
  const f = f32x4.sub(f32x4.add(m, v128.and(m, small)), ONE);
  const ef = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(f, f);
  // P(f) = c0 + c1 f + ... + c8 f^8 (Cephes logf), by Estrin's scheme (shorter dependency chains than Horner)
  const f4 = f32x4.mul(z, z);
  const p01 = f32x4.add(f32x4.splat(3.3333331174e-1), f32x4.mul(f, f32x4.splat(-2.4999993993e-1)));
  const p23 = f32x4.add(f32x4.splat(2.0000714765e-1), f32x4.mul(f, f32x4.splat(-1.6668057665e-1)));
  const p45 = f32x4.add(f32x4.splat(1.4249322787e-1), f32x4.mul(f, f32x4.splat(-1.2420140846e-1)));
  const p67 = f32x4.add(f32x4.splat(1.1676998740e-1), f32x4.mul(f, f32x4.splat(-1.1514610310e-1)));
  const p03 = f32x4.add(p01, f32x4.mul(z, p23));
  const p47 = f32x4.add(p45, f32x4.mul(z, p67));
  const p48 = f32x4.add(p47, f32x4.mul(f4, f32x4.splat(7.0376836292e-2)));
  let y = f32x4.add(p03, f32x4.mul(f4, p48));
  y = f32x4.mul(f32x4.mul(y, f), z);
  y = f32x4.add(y, f32x4.mul(ef, f32x4.splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(HALF, z));
  return f32x4.add(f32x4.add(f, y), f32x4.mul(ef, f32x4.splat(0.693359375)));
}

/** log(1 + r) per lane for r >= 0: log u - ((u - 1) - r) / u with u = 1 + r (the rounding of u corrected to first order). */
@inline
function log1p4(r: v128): v128 {
  const u = f32x4.add(ONE, r);
  return f32x4.sub(log4(u), f32x4.div(f32x4.sub(f32x4.sub(u, ONE), r), u));
}

/** n (1..4) float32 at p; the other lanes `fill`. */
@inline
function loadPart(p: usize, n: i32, fill: f32): v128 {
  if (n == 4) return v128.load(p);
  let v = f32x4.splat(fill);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Lanes 0..n-1 of v stored at p. */
@inline
function storePart(p: usize, v: v128, n: i32): void {
  if (n == 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** v with lanes n..3 set to 0. */
@inline
function maskPart(v: v128, n: i32): v128 {
  if (n == 4) return v;
  return v128.and(v, i32x4.lt_s(LANES, i32x4.splat(n)));
}

/** Float64 accumulators (lanes 0, 1 and 2, 3 of a float32 group): lo += v[0:2], hi += v[2:4]. */
@inline
function addLo(acc: v128, v: v128): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(v));
}
@inline
function addHi(acc: v128, v: v128): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1)));
}

/** The four float64 lanes of lo, hi summed: (lo0 + lo1) + (hi0 + hi1). */
@inline
function total(lo: v128, hi: v128): f64 {
  return f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1) + (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1));
}

/** n (1..4) float32 lanes of v added to the float64 array at acc. */
@inline
function accumulate(acc: usize, v: v128, n: i32): void {
  if (n == 4) {
    v128.store(acc, addLo(v128.load(acc), v));
    v128.store(acc, addHi(v128.load(acc, 16), v), 16);
    return;
  }
  store<f64>(acc, load<f64>(acc) + <f64>f32x4.extract_lane(v, 0));
  if (n > 1) store<f64>(acc, load<f64>(acc, 8) + <f64>f32x4.extract_lane(v, 1), 8);
  if (n > 2) store<f64>(acc, load<f64>(acc, 16) + <f64>f32x4.extract_lane(v, 2), 16);
}

// the running float64 sums of a row (two lanes each)
let sumLo = f64x2.splat(0.0);
let sumHi = f64x2.splat(0.0);
let sum2Lo = f64x2.splat(0.0);
let sum2Hi = f64x2.splat(0.0);
let dvLo = f64x2.splat(0.0);
let dvHi = f64x2.splat(0.0);

/**
 * Entries j .. j + n - 1 of one trial: p, x = v g p z and eta' = g (p + p (1 - p) z^2 / s), the
 * last added to the row's sum (sumLo, sumHi). t = tau^2 of the trial, vv = v.
 */
@inline
function forwardGroup(z: usize, th1: usize, th2: usize, x: usize, pOut: usize, t: v128, vv: v128, n: i32): void {
  const zv = loadPart(z, n, 0.0);
  const a = loadPart(th1, n, 0.0);
  const b = loadPart(th2, n, 1.0);
  const S = f32x4.add(b, t);
  const s = f32x4.div(f32x4.mul(t, S), b);
  const z2 = f32x4.mul(zv, zv);
  // log c = (1/2) log1p(theta2 / tau^2) + theta1 - z^2 / (2 s);  p = sigmoid(-log c) = 1 / (1 + c)
  const logC = f32x4.sub(f32x4.add(f32x4.mul(HALF, log1p4(f32x4.div(b, t))), a), f32x4.div(z2, f32x4.mul(TWO, s)));
  const p = f32x4.div(ONE, f32x4.add(ONE, exp4(logC)));
  const g = f32x4.div(b, S);
  const eta = f32x4.mul(f32x4.mul(g, p), zv);
  const der = f32x4.mul(g, f32x4.add(p, f32x4.div(f32x4.mul(f32x4.mul(p, f32x4.sub(ONE, p)), z2), s)));
  storePart(x, f32x4.mul(vv, eta), n);
  storePart(pOut, p, n);
  const d = maskPart(der, n);
  sumLo = addLo(sumLo, d);
  sumHi = addHi(sumHi, d);
}

/**
 * The forward pass: x = v eta(z) [B, E], p (the posterior, kept for the gradient) [B, E] and
 * sumDer[b] = sum_j eta'(z_bj) (float64) for every trial.
 */
export function forward(z: usize, theta1: usize, theta2: usize, tau2: usize, B: i32, E: i32, v: f32, x: usize, p: usize, sumDer: usize): void {
  const vv = f32x4.splat(v);
  for (let b = 0; b < B; b++) {
    const t = f32x4.splat(load<f32>(tau2 + (<usize>b << 2)));
    const row = <usize>b * <usize>E << 2;
    sumLo = f64x2.splat(0.0);
    sumHi = f64x2.splat(0.0);
    let j = 0;
    for (; j + 4 <= E; j += 4) {
      const o = <usize>j << 2;
      forwardGroup(z + row + o, theta1 + o, theta2 + o, x + row + o, p + row + o, t, vv, 4);
    }
    if (j < E) {
      const o = <usize>j << 2;
      forwardGroup(z + row + o, theta1 + o, theta2 + o, x + row + o, p + row + o, t, vv, E - j);
    }
    store<f64>(sumDer + (<usize>b << 3), total(sumLo, sumHi));
  }
}

/**
 * Entries j .. j + n - 1 of one trial in the backward pass (the closed form of `ampNonlinearity`):
 * dz stored, -dl and the theta_2 term added to the per-entry float64 sums at d1, d2, the two
 * per-trial terms to (sumLo, sumHi), (sum2Lo, sum2Hi), and dX z g p to (dvLo, dvHi).
 */
@inline
function backwardGroup(z: usize, th2: usize, pIn: usize, dx: usize, dz: usize, d1: usize, d2: usize, t: v128, d: v128, vv: v128, n: i32): void {
  const zv = loadPart(z, n, 0.0);
  const b = loadPart(th2, n, 1.0);
  const p = loadPart(pIn, n, 0.5);
  const dX = loadPart(dx, n, 0.0);
  const S = f32x4.add(b, t);
  const s = f32x4.div(f32x4.mul(t, S), b);
  const g = f32x4.div(b, S);
  const z2 = f32x4.mul(zv, zv);
  const w = f32x4.div(z2, s);
  const xz = f32x4.mul(dX, zv); // dX z
  const ez = f32x4.mul(xz, vv); // e z
  const q = f32x4.sub(ONE, p);
  const pq = f32x4.mul(p, q);
  const P = f32x4.mul(g, f32x4.add(ez, f32x4.mul(d, f32x4.add(ONE, f32x4.mul(f32x4.sub(q, p), w)))));
  const nl = f32x4.mul(pq, P); // -dl
  const half = f32x4.mul(nl, HALF); // -dl / 2
  const W = f32x4.add(f32x4.mul(d, f32x4.mul(g, pq)), half);
  const gp = f32x4.mul(g, p);
  const dzv = f32x4.add(f32x4.mul(gp, f32x4.mul(dX, vv)), f32x4.div(f32x4.mul(f32x4.mul(zv, W), TWO), s));
  const dg = f32x4.mul(p, f32x4.add(ez, f32x4.mul(d, f32x4.add(ONE, f32x4.mul(q, w)))));
  const da = f32x4.mul(z2, W);
  storePart(dz, dzv, n);
  accumulate(d1, f32x4.neg(nl), n);
  accumulate(d2, f32x4.div(f32x4.sub(f32x4.div(f32x4.add(f32x4.mul(dg, t), da), S), half), S), n);
  const A = f32x4.div(da, s);
  const viaS = maskPart(f32x4.div(f32x4.add(f32x4.add(f32x4.div(f32x4.mul(dg, b), S), A), half), S), n);
  const viaTau = maskPart(f32x4.sub(half, A), n);
  const dvTerm = maskPart(f32x4.mul(xz, gp), n);
  sumLo = addLo(sumLo, viaS);
  sumHi = addHi(sumHi, viaS);
  sum2Lo = addLo(sum2Lo, viaTau);
  sum2Hi = addHi(sum2Hi, viaTau);
  dvLo = addLo(dvLo, dvTerm);
  dvHi = addHi(dvHi, dvTerm);
}

/**
 * The gradient of the forward pass for upstream dx [B, E] and dOnsager [B] (float32), from the
 * forward pass's inputs and p (float32) and sumDer (float64): dz [B, E] (float32); float64
 * dTheta1 [E], dTheta2 [E] (summed over the trials in order), dTau2 [B] and out[0] = dv.
 * C: the Onsager normalisation.
 */
export function backward(
  z: usize,
  theta2: usize,
  tau2: usize,
  p: usize,
  sumDer: usize,
  dx: usize,
  dOnsager: usize,
  B: i32,
  E: i32,
  v: f32,
  C: f64,
  dz: usize,
  dTheta1: usize,
  dTheta2: usize,
  dTau2: usize,
  out: usize,
): void {
  const vv = f32x4.splat(v);
  const vOverC = <f32>(<f64>v / C); // tfjs: v / C in float32
  memory.fill(dTheta1, 0, <usize>E << 3);
  memory.fill(dTheta2, 0, <usize>E << 3);
  dvLo = f64x2.splat(0.0);
  dvHi = f64x2.splat(0.0);
  let onsagerTerm = 0.0;
  for (let b = 0; b < B; b++) {
    const tb = load<f32>(tau2 + (<usize>b << 2));
    const t = f32x4.splat(tb);
    const dOn = load<f32>(dOnsager + (<usize>b << 2));
    const d = f32x4.splat(dOn * vOverC);
    const row = <usize>b * <usize>E << 2;
    sumLo = f64x2.splat(0.0);
    sumHi = f64x2.splat(0.0);
    sum2Lo = f64x2.splat(0.0);
    sum2Hi = f64x2.splat(0.0);
    let j = 0;
    for (; j + 4 <= E; j += 4) {
      const o = <usize>j << 2;
      backwardGroup(z + row + o, theta2 + o, p + row + o, dx + row + o, dz + row + o, dTheta1 + (o << 1), dTheta2 + (o << 1), t, d, vv, 4);
    }
    if (j < E) {
      const o = <usize>j << 2;
      backwardGroup(z + row + o, theta2 + o, p + row + o, dx + row + o, dz + row + o, dTheta1 + (o << 1), dTheta2 + (o << 1), t, d, vv, E - j);
    }
    // dtau^2 = sum_j (-dl/2 - A) / tau^2 - sum_j (dg theta2 / S + A - dl/2) / S
    store<f64>(dTau2 + (<usize>b << 3), total(sum2Lo, sum2Hi) / <f64>tb - total(sumLo, sumHi));
    onsagerTerm += <f64>dOn * load<f64>(sumDer + (<usize>b << 3));
  }
  store<f64>(out, total(dvLo, dvHi) + onsagerTerm / C);
}

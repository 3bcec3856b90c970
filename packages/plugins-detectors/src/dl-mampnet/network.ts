/**
 * The DL-mAMPnet network: T unfolded real-valued AMP layers and the refinement module, their
 * variables, and the preparation of the network's inputs (sigma-normalised received rows, the
 * initial denoiser parameters). Equation numbers are those of Z. Ma, W. Wu, F. Gao, X. Shen,
 * "Model-driven deep learning for non-coherent massive machine-type communications", Secs. IV-V.
 */
import * as tf from '@tensorflow/tfjs';
import { blas, cx, differentiableOp, heapAccess, numSequences, trainingStepHeap, transposedProduct, type ComplexTensor, type HeapAccess, type RandomStreams, type Scenario } from '@gfra/core';
import { scalarBgDenoiser } from '../algorithms/amp';
import { layerKernel, type LayerForward, type LayerGradient, type LayerInputs, type LayerKernel } from './layer-kernel';

/** The options that shape the network (a subset of the plugin's parameters). */
export interface NetworkOptions {
  /** T: unfolded AMP layers. */
  readonly layers: number;
  /** Matched filter B_t: one 2NQ x 2L matrix for every antenna, or the full 2NQM x 2LM one. */
  readonly bMode: 'shared' | 'dense';
  /** Onsager normalisation C: 2 L M or L M. */
  readonly onsagerNorm: '2LM' | 'LM';
  /** Initial theta_2: estimated from data (stored as 0 until then) or a number. */
  readonly theta2Init: 'data' | number;
  /** H: hidden width of FC1 (default 2NQ). */
  readonly hiddenWidth?: number;
  /** Refinement inputs normalised by tau_T ("tau") or raw ("none"). */
  readonly rmInputNorm: 'tau' | 'none';
  /** 1xM convolution init: w = 1/M ("avg") or Kaiming-normal ("he"). */
  readonly convInit: 'avg' | 'he';
  /** FC3 init: [I; I] + N(0, 0.01^2) ("pair") or Kaiming-normal ("he"). */
  readonly fc3Init: 'pair' | 'he';
}

/** Variables of one unfolded AMP layer. */
interface AmpLayer {
  /** B_t - S_r^T (shared: [2NQ, 2L]) or B_t - (I_M kron S_r)^T (dense: [2NQM, 2LM]); starts at 0. */
  readonly dB: tf.Variable;
  /** v_t (scalar), starts at 1. */
  readonly v: tf.Variable;
  /** theta_{t,1} - log((Q - eps)/eps), [M, 2NQ] (entry (m, r) = row r, antenna m of X_r); starts at 0. */
  readonly dTheta1: tf.Variable;
  /** log theta_{t,2} - log theta2Init, [M, 2NQ]; starts at 0. */
  readonly dLogTheta2: tf.Variable;
}

/** Variables of the refinement module. */
interface Refinement {
  readonly convW: tf.Variable; // [M]
  readonly convB: tf.Variable; // []
  readonly fc1aW: tf.Variable; // [2NQ, H]
  readonly fc1aB: tf.Variable; // [H]
  readonly fc1bW: tf.Variable; // [H, 2NQ]
  readonly fc1bB: tf.Variable; // [2NQ]
  readonly fc2W: tf.Variable; // [2NQM, 2NQ] (theta_{T,2} part, in the [M, 2NQ] order)
  readonly fc2Tau: tf.Variable; // [2NQ] (tau_T^2 part)
  readonly fc2B: tf.Variable; // [2NQ]
  readonly fc3W: tf.Variable; // [2NQ, NQ]
  readonly fc3B: tf.Variable; // [NQ]
}

/** What a forward pass up to some layer computed (row layout: antenna m is a row). */
export interface DlMampnetForward {
  /** X_{r,t} of every layer computed so far, each [B, M, 2NQ] (entry (m, r) = X_r[r, m]). */
  readonly x: tf.Tensor3D[];
  /** tau_t^2 used by each layer, each [B]. */
  readonly tau2: tf.Tensor1D[];
  /** Refinement pre-activation a [B, NQ] (only for a full pass). */
  readonly a?: tf.Tensor2D;
  /** Intermediate refinement signals [B, 2NQ]: u after pool/unpool, kappa_HT (full pass). */
  readonly u?: tf.Tensor2D;
}

/** Y_r in the row layout [B, M, 2L] (antenna m is a row [Re y_m; Im y_m]), divided by sigma. */
export function receivedRows(y: ComplexTensor, noiseVar: number): tf.Tensor3D {
  const rows = tf.concat([tf.transpose(y.re, [0, 2, 1]), tf.transpose(y.im, [0, 2, 1])], 2);
  return tf.div(rows, Math.sqrt(noiseVar)) as tf.Tensor3D;
}

/** log((Q - eps)/eps) with eps the mean activity probability: the initial theta_1 (Sec. V-A). */
export function theta1Base(activityProbability: tf.Tensor1D, Q: number): tf.Scalar {
  const eps = tf.mean(activityProbability);
  return tf.log(tf.div(tf.sub(Q, eps), eps)) as tf.Scalar;
}

/**
 * The data-dependent initial theta_2 (per-real signal variance of an active row, sigma^2
 * normalised): mean over the trials of (||Y_r||^2 / sigma^2 - L M) / (2 eps N M), at least 1e-3.
 *
 * @param yRows received rows of each batch ({@link receivedRows})
 */
export function theta2FromData(yRows: tf.Tensor3D[], activityProbability: tf.Tensor1D, scenario: Scenario): tf.Scalar {
  const { numDevices: N, numAntennas: M, sequenceLength: L } = scenario;
  const eps = tf.mean(activityProbability);
  const energy = tf.concat(yRows.map((y) => tf.sum(tf.square(y), [1, 2])));
  const excess = tf.sub(tf.mean(energy), L * M);
  return tf.maximum(tf.div(excess, tf.mul(eps, 2 * N * M)), 1e-3) as tf.Scalar;
}

/** What {@link ampNonlinearity} returns for one AMP layer. */
export interface AmpNonlinearity {
  /** X_t = v_t eta(Z_t), [B, M, 2NQ]. */
  readonly x: tf.Tensor3D;
  /** The Onsager coefficient (v_t / C) sum_j eta'_j(Z_t) per trial, [B, 1, 1]. */
  readonly onsager: tf.Tensor3D;
}

/**
 * The per-entry part of one AMP layer, as one differentiable op with a hand-written gradient:
 * X = v eta(Z) and the Onsager coefficient (v / C) sum_{m,r} eta'(Z)_{m,r} per trial, with eta,
 * eta' the Bernoulli-Gaussian denoiser `scalarBgDenoiser` (algorithms/amp.ts). The forward pass calls
 * `scalarBgDenoiser` (the same numbers); the gradient replaces tfjs's op-by-op
 * backward pass (about three times as many kernels over [B, M, 2NQ], each broadcast operand cast
 * and reduced on its own) by the closed form below, with the sums over the batch done as one
 * matrix product. With S = theta2 + tau^2, g = theta2 / S, a = 1/s = g / tau^2, w = a z^2,
 * l = log c = (1/2) log(S / tau^2) + theta1 - w/2, p = sigmoid(-l), q = 1 - p,
 * eta = g p z, eta' = g p (1 + q w), and upstream gradients e = v dX, d = (v / C) d(onsager):
 *
 *   dl = -p q P,  P = g (e z + d (1 + (q - p) w))          (through p)
 *   W  = d g p q - dl / 2                                   (through w = a z^2)
 *   dz = e g p + 2 a z W,   dtheta1 = sum_b dl
 *   dg = p (e z + d (1 + q w)),   da = z^2 W
 *   dtheta2 = sum_b [(dg tau^2 + da) / S^2 + dl / (2 S)]
 *   dtau^2  = sum_{m,r} [-(dg theta2 / S + da / s - dl / 2) / S] + sum_{m,r} (-da / s - dl / 2) / tau^2
 *   dv      = sum (dX eta) + sum_b d(onsager)_b (sum eta')_b / C
 *
 * Where the WebAssembly kernels load (`layer-kernel.ts`; not with GFRA_WASM=off), forward and
 * gradient run as one kernel each with the same formulas (float32 per entry, float64 sums, so equal
 * to this tfjs formulation to float32 rounding, not bit for bit); `implementation` "tfjs" forces the
 * tfjs formulation.
 *
 * @param z      Z_t [B, M, 2NQ]
 * @param tau2   tau_t^2 [B, 1, 1]
 * @param theta1 [M, 2NQ]
 * @param theta2 [M, 2NQ] (positive)
 * @param v      v_t (scalar)
 * @param C      the Onsager normalisation (2LM or LM)
 * @param implementation "auto" (the kernels where they load) or "tfjs"
 */
export function ampNonlinearity(z: tf.Tensor3D, tau2: tf.Tensor3D, theta1: tf.Tensor2D, theta2: tf.Tensor2D, v: tf.Scalar, C: number, implementation: 'auto' | 'tfjs' = 'auto'): AmpNonlinearity {
  const [B, M, K2] = z.shape;
  const kernel = implementation === 'auto' ? layerKernel() : undefined;
  if (kernel !== undefined) return ampNonlinearityWasm(kernel, z, tau2, theta1, theta2, v, C);
  const forwardFunc = (_backend: unknown, save: (tensors: tf.Tensor[]) => void): tf.Tensor[] => {
    // scalarBgDenoiser itself, keeping what the gradient needs
    const { eta, derivative, posterior: p, gain: g, s } = scalarBgDenoiser(z, tau2, theta1, theta2);
    const x = tf.mul(v, eta);
    const sumDer = tf.sum(derivative, [1, 2]);
    const onsager = tf.reshape(tf.div(tf.mul(v, sumDer), C), [B, 1, 1]);
    save([z, p, g, s, sumDer, tau2, theta2, v]);
    return [x, onsager];
  };
  const backwardsFunc = (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [dx, dOnsager] = dys as tf.Tensor[];
    const [zS, p, g, s, sumDer, tau2S, theta2S, vS] = saved; // inputs too: the caller's scope may have freed them
    const grads = tf.tidy(() => {
      const flat = (t: tf.Tensor) => tf.reshape(t, [B, M * K2]) as tf.Tensor2D;
      const ones = tf.ones([1, B]) as tf.Tensor2D;
      // sum over the batch axis of [B, M, 2NQ] as one matrix product -> [M, 2NQ]
      const overBatch = (t: tf.Tensor) => tf.reshape(tf.matMul(ones, flat(t)), [M, K2]);
      // sum over the entries of each trial -> [B, 1, 1]
      const overEntries = (t: tf.Tensor) => tf.reshape(tf.sum(flat(t), 1), [B, 1, 1]);
      const d = tf.mul(dOnsager, tf.div(vS, C)); // [B, 1, 1]
      const xz = tf.mul(dx, zS); // dX z
      const ez = tf.mul(xz, vS); // e z
      const q = tf.sub(1, p);
      const pq = tf.mul(p, q);
      const z2 = tf.square(zS);
      const w = tf.div(z2, s);
      const P = tf.mul(g, tf.add(ez, tf.mul(d, tf.add(1, tf.mul(tf.sub(q, p), w)))));
      const nl = tf.mul(pq, P); // -dl
      const half = tf.mul(nl, 0.5); // -dl / 2
      const W = tf.add(tf.mul(d, tf.mul(g, pq)), half);
      const gp = tf.mul(g, p);
      const dz = tf.add(tf.mul(gp, tf.mul(dx, vS)), tf.div(tf.mul(tf.mul(zS, W), 2), s));
      const dg = tf.mul(p, tf.add(ez, tf.mul(d, tf.add(1, tf.mul(q, w)))));
      const da = tf.mul(z2, W);
      const S = tf.add(theta2S, tau2S);
      const dTheta1 = tf.neg(overBatch(nl));
      const dTheta2 = overBatch(tf.div(tf.sub(tf.div(tf.add(tf.mul(dg, tau2S), da), S), half), S));
      const A = tf.div(da, s);
      const viaS = overEntries(tf.div(tf.add(tf.add(tf.div(tf.mul(dg, theta2S), S), A), half), S));
      const viaTau = tf.div(overEntries(tf.sub(half, A)), tau2S);
      const dTau2 = tf.sub(viaTau, viaS);
      const dv = tf.add(tf.sum(tf.mul(xz, gp)), tf.div(tf.sum(tf.mul(tf.reshape(dOnsager, [B]), sumDer)), C));
      return { z: dz, tau2: dTau2, theta1: dTheta1, theta2: dTheta2, v: dv };
    });
    return {
      z: () => grads.z,
      tau2: () => grads.tau2,
      theta1: () => grads.theta1,
      theta2: () => grads.theta2,
      v: () => grads.v,
    };
  };
  // two outputs: tf.customGrad allows one
  const [x, onsager] = differentiableOp(forwardFunc, backwardsFunc, { z, tau2, theta1, theta2, v }) as tf.Tensor3D[];
  return { x, onsager };
}

/**
 * {@link ampNonlinearity} on the WebAssembly kernels: the forward pass reads its inputs once
 * (dataSync), runs one kernel and builds the two outputs; the gradient reads dX and d(onsager),
 * runs one kernel and builds the five input gradients. What the gradient needs (the inputs' values,
 * p and the per-trial sums of eta') stays in host arrays held by the gradient function, so no
 * tensor is saved: nothing to free when no tape records the op.
 */
function ampNonlinearityWasm(kernel: LayerKernel, z: tf.Tensor3D, tau2: tf.Tensor3D, theta1: tf.Tensor2D, theta2: tf.Tensor2D, v: tf.Scalar, C: number): AmpNonlinearity {
  const heap = heapAccess();
  if (heap !== undefined) return ampNonlinearityOnHeap(heap, kernel, z, tau2, theta1, theta2, v, C);
  const [B, M, K2] = z.shape;
  let inputs: LayerInputs | undefined;
  let saved: LayerForward | undefined;
  const forwardFunc = (): tf.Tensor[] => {
    inputs = {
      z: z.dataSync() as Float32Array,
      tau2: tau2.dataSync() as Float32Array,
      theta1: theta1.dataSync() as Float32Array,
      theta2: theta2.dataSync() as Float32Array,
      v: v.dataSync()[0],
      C,
    };
    saved = kernel.forward(inputs);
    return [tf.tensor3d(saved.x, [B, M, K2]), tf.tensor3d(saved.onsager, [B, 1, 1])];
  };
  const backwardsFunc = (dys: tf.Tensor | tf.Tensor[]) => {
    const [dx, dOnsager] = dys as tf.Tensor[];
    const grad = kernel.backward(inputs as LayerInputs, saved as LayerForward, dx.dataSync() as Float32Array, dOnsager.dataSync() as Float32Array);
    return gradientClosures(grad, () => tf.tensor3d(grad.z, [B, M, K2]), B, M, K2);
  };
  const [x, onsager] = differentiableOp(forwardFunc, backwardsFunc, { z, tau2, theta1, theta2, v }) as tf.Tensor3D[];
  return { x, onsager };
}

/** The layer op's gradient closures from the kernel's gradient; dZ [B, M, K2] from `dz`. */
function gradientClosures(grad: LayerGradient, dz: () => tf.Tensor, B: number, M: number, K2: number): Record<string, () => tf.Tensor> {
  return {
    z: dz,
    tau2: () => tf.tensor3d(grad.tau2, [B, 1, 1]),
    theta1: () => tf.tensor2d(grad.theta1, [M, K2]),
    theta2: () => tf.tensor2d(grad.theta2, [M, K2]),
    v: () => tf.scalar(grad.v),
  };
}

/**
 * {@link ampNonlinearityWasm} on the wasm backend's memory: the kernels read their inputs from
 * views of the tensors and write X, p and dZ into new tensors, so no [B, M, 2NQ] array is read
 * into JavaScript (a fresh 0.5 MiB array per read at the example's size, each a fresh mmap under
 * gfra's fixed malloc thresholds). The tensors the gradient needs (Z, tau^2, theta2 and p) are
 * saved on the tape; the per-trial sums of eta' and v stay on the host.
 */
function ampNonlinearityOnHeap(heap: HeapAccess, kernel: LayerKernel, z: tf.Tensor3D, tau2: tf.Tensor3D, theta1: tf.Tensor2D, theta2: tf.Tensor2D, v: tf.Scalar, C: number): AmpNonlinearity {
  const [B, M, K2] = z.shape;
  const vValue = v.dataSync()[0];
  let sumDer: Float64Array | undefined;
  const forwardFunc = (_backend: unknown, save: (tensors: tf.Tensor[]) => void): tf.Tensor[] => {
    const [x, p] = [heap.tensor([B, M, K2]), heap.tensor([B, M, K2])];
    const out = kernel.forward({ z: heap.view(z), tau2: heap.view(tau2), theta1: heap.view(theta1), theta2: heap.view(theta2), v: vValue, C }, { x: heap.view(x), p: heap.view(p) });
    sumDer = out.sumDer;
    const onsager = tf.tensor3d(out.onsager, [B, 1, 1]); // allocates: after the last use of the views
    save([z, tau2, theta2, p]);
    p.dispose();
    return [x, onsager];
  };
  const backwardsFunc = (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [dx, dOnsager] = dys as tf.Tensor[];
    const [zS, tau2S, theta2S, pS] = saved;
    const dz = heap.tensor([B, M, K2]); // in the backward pass's scope
    const inputs = { z: heap.view(zS), tau2: heap.view(tau2S), theta1: new Float32Array(0), theta2: heap.view(theta2S), v: vValue, C };
    const grad = kernel.backward(inputs, { p: heap.view(pS), sumDer: sumDer as Float64Array }, heap.view(dx), heap.view(dOnsager), { z: heap.view(dz) });
    return gradientClosures(grad, () => dz, B, M, K2);
  };
  const [x, onsager] = differentiableOp(forwardFunc, backwardsFunc, { z, tau2, theta1, theta2, v }) as tf.Tensor3D[];
  return { x, onsager };
}

/**
 * tau^2 = ||R||_F^2 / count per trial, [B, M, K] -> [B, 1, 1], as one differentiable op (the value
 * of tf.sum(tf.square(r)) / count; the gradient 2 R dtau^2 / count in two kernels, where tfjs's
 * gradients of sum and square build a ones tensor on the host and cast).
 */
export function meanSquare(r: tf.Tensor3D, count: number): tf.Tensor3D {
  return differentiableOp(
    (_backend, save) => {
      save([r]);
      return tf.div(tf.sum(tf.square(r), [1, 2], true), count);
    },
    (dy, saved) => ({ r: () => tf.mul(saved[0], tf.mul(dy as tf.Tensor, 2 / count)) }),
    { r },
  ) as tf.Tensor3D;
}

/**
 * R_t = Y - S_r X_t + b R_{t-1} (56)-(57) as one differentiable op, [B, M, 2L] with b [B, 1, 1]
 * (the value of tf.add(tf.sub(y, sx), tf.mul(b, r)); the gradients dY = dR_t, dSX = -dR_t,
 * db = sum over each trial of dR_t R_{t-1}, dR_{t-1} = b dR_t, each built only where the tape asks).
 */
export function residual(y: tf.Tensor3D, sx: tf.Tensor3D, b: tf.Tensor3D, r: tf.Tensor3D): tf.Tensor3D {
  return differentiableOp(
    (_backend, save) => {
      save([b, r]);
      return tf.add(tf.sub(y, sx), tf.mul(b, r));
    },
    (dy, saved) => {
      const d = dy as tf.Tensor3D;
      const [bS, rS] = saved;
      return {
        y: () => tf.clone(d),
        sx: () => tf.neg(d),
        b: () => tf.sum(tf.mul(d, rS), [1, 2], true),
        r: () => tf.mul(d, bS),
      };
    },
    { y, sx, b, r },
  ) as tf.Tensor3D;
}

/**
 * A dense layer's product as one differentiable op: a w (`layout` "kp": w [k, p]) or a w^T
 * ("pk": w [p, k]), a [n, k] -> [n, p]. The value is tf.matMul's (for "pk" on the explicitly
 * transposed w, as the wasm backend runs transpose flags several times slower). The gradient is
 * built per input only where the tape asks for it (a constant operand such as the codebook's S_r,
 * or the received rows entering layer 1, gets none):
 *
 *   da = dC w^T ("kp") or dC w ("pk"), a tf.matMul (w^T a small explicit transpose);
 *   dw = a^T dC ("kp") or dC^T a ("pk"), one host gemm with the transpose flag on the read-back
 *        operands ({@link transposedProduct}; on wasm, the same product needs an explicit
 *        transpose of the [n, .] operand and a slow long-contraction matMul).
 *
 * dw sums over the n rows (the batch): a training-only quantity, so a host gemm over the whole
 * batch is fine. In a training step (a gradient tape records, the BLAS is native, the backend is
 * wasm) the forward product and da are host gemms too, on the tensors' memory: the rows are the
 * training batch, fixed by the spec. Outside a training step (detection) the forward value stays
 * a row-wise tf.matMul, whose rows do not depend on the batch size.
 */
export function linear(a: tf.Tensor2D, w: tf.Tensor2D, layout: 'kp' | 'pk'): tf.Tensor2D {
  const [n, k] = a.shape;
  if ((layout === 'kp' ? w.shape[0] : w.shape[1]) !== k) throw new Error(`linear: [${a.shape}] x [${w.shape}] (${layout})`);
  const p = layout === 'kp' ? w.shape[1] : w.shape[0];
  // in a training step (the rows are the training batch), the products on the host BLAS
  const heap = trainingStepHeap();
  const forwardFunc = (_backend: unknown, save: (tensors: tf.Tensor[]) => void): tf.Tensor => {
    save([a, w]);
    if (heap !== undefined) {
      const c = heap.tensor<tf.Rank.R2>([n, p]);
      blas().sgemm(false, layout === 'pk', n, p, k, 1, heap.view(a), 0, k, heap.view(w), 0, layout === 'kp' ? p : k, 0, heap.view(c), 0, p);
      return c;
    }
    return layout === 'kp' ? tf.matMul(a, w) : tf.tidy(() => tf.matMul(a, tf.transpose(w)));
  };
  const backwardsFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const dC = dy as tf.Tensor2D;
    const [aS, wS] = saved as tf.Tensor2D[];
    const hostA = (h: HeapAccess): tf.Tensor2D => {
      const da = h.tensor<tf.Rank.R2>([n, k]);
      blas().sgemm(false, layout === 'kp', n, k, p, 1, h.view(dC), 0, p, h.view(wS), 0, layout === 'kp' ? p : k, 0, h.view(da), 0, k);
      return da;
    };
    return {
      a: () => (heap !== undefined ? hostA(heap) : layout === 'pk' ? tf.matMul(dC, wS) : tf.tidy(() => tf.matMul(dC, tf.transpose(wS)))),
      w: () => (layout === 'kp' ? transposedProduct(aS, dC) : transposedProduct(dC, aS)),
    };
  };
  return differentiableOp(forwardFunc, backwardsFunc, { a, w }) as tf.Tensor2D;
}

/**
 * Max-pool / max-unpool with window Q along the last axis (Sec. IV-C): every consecutive block of
 * Q entries keeps its largest entry (the first one on ties) and the others are set to 0. The kept
 * positions are a constant mask, so the gradient flows only through the kept entries.
 *
 * @param o [B, blocks * Q]
 */
export function poolUnpool(o: tf.Tensor2D, Q: number): tf.Tensor2D {
  if (Q === 1) return o;
  const [B, width] = o.shape;
  const blocks = tf.reshape(o, [B, width / Q, Q]);
  const mask = tf.tidy(() => tf.oneHot(tf.argMax(blocks, 2), Q).toFloat()); // first maximum
  return tf.reshape(tf.mul(blocks, mask), [B, width]) as tf.Tensor2D;
}

/**
 * The variables and the forward pass of DL-mAMPnet. Layer t (t = 1..T), X_0 = 0, R_0 = Y_r, in
 * sigma-normalised units:
 *
 *   tau_t^2 = ||R_{t-1}||_F^2 / (2 L M)
 *   Z_t = X_{t-1} + B_t(R_{t-1})
 *   X_t = v_t eta(Z_t; theta_{t,1}, theta_{t,2}, tau_t^2)                          (per real entry)
 *   R_t = Y_r - S_r X_t + (v_t / C) (sum over the 2NQM entries of eta'(Z_t)) R_{t-1}    (56)-(57)
 *
 * then the refinement module (Sec. IV-C, Fig. 4) on X_T. Everything is kept in the row layout
 * [B, M, 2NQ] / [B, M, 2L], whose row-major flattening is the paper's column-major vec.
 */
export class DlMampnetNetwork {
  private readonly amp: AmpLayer[];
  private readonly rm: Refinement;
  /** theta2Init: the data-dependent initial value, stored with the weights (0 = not yet estimated). */
  readonly theta2Init: tf.Variable;

  /**
   * Initialisation (Sec. V-A): B_t = S_r^T, v_t = 1, theta_{t,1} = log((Q - eps)/eps),
   * theta_{t,2} = theta2Init (all as offsets from these), refinement He-normal (or the convInit /
   * fc3Init options) from the `weights` stream, biases 0.
   */
  constructor(
    private readonly options: NetworkOptions,
    private readonly scenario: Scenario,
    random: RandomStreams,
  ) {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = scenario;
    const Q = numSequences(scenario);
    const K2 = 2 * N * Q;
    const H = options.hiddenWidth ?? K2;
    const g = random.onceGenerator('weights');
    const he = (fanIn: number, shape: number[]): tf.Tensor => {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(size);
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < size; i++) values[i] = std * g.normal();
      return tf.tensor(values, shape);
    };
    const built = tf.tidy(() => {
      const bShape = options.bMode === 'dense' ? [K2 * M, 2 * L * M] : [K2, 2 * L];
      const amp: AmpLayer[] = [];
      for (let t = 0; t < options.layers; t++) {
        amp.push({
          dB: tf.variable(tf.zeros(bShape), true),
          v: tf.variable(tf.scalar(1), true),
          dTheta1: tf.variable(tf.zeros([M, K2]), true),
          dLogTheta2: tf.variable(tf.zeros([M, K2]), true),
        });
      }
      const theta2 = tf.variable(tf.scalar(options.theta2Init === 'data' ? 0 : options.theta2Init), true);
      const convW = options.convInit === 'avg' ? tf.fill([M], 1 / M) : he(M, [M]);
      const eye = tf.eye(N * Q);
      // "pair": [I; I] + N(0, 0.01^2) (he(2, .) draws N(0, 1))
      const fc3W = options.fc3Init === 'pair' ? tf.add(tf.concat([eye, eye], 0), tf.mul(he(2, [K2, N * Q]), 0.01)) : he(K2, [K2, N * Q]);
      const rm: Refinement = {
        convW: tf.variable(convW, true),
        convB: tf.variable(tf.scalar(0), true),
        fc1aW: tf.variable(he(K2, [K2, H]), true),
        fc1aB: tf.variable(tf.zeros([H]), true),
        fc1bW: tf.variable(he(H, [H, K2]), true),
        fc1bB: tf.variable(tf.zeros([K2]), true),
        fc2W: tf.variable(he(K2 * M + 1, [K2 * M, K2]), true),
        fc2Tau: tf.variable(he(K2 * M + 1, [K2]), true),
        fc2B: tf.variable(tf.zeros([K2]), true),
        fc3W: tf.variable(fc3W, true),
        fc3B: tf.variable(tf.zeros([N * Q]), true),
      };
      return { amp, rm, theta2 } as unknown as tf.TensorContainer;
    }) as unknown as { amp: AmpLayer[]; rm: Refinement; theta2: tf.Variable };
    this.amp = built.amp;
    this.rm = built.rm;
    this.theta2Init = built.theta2;
  }

  /**
   * Every variable by its artifact name: layer<t>/dB, layer<t>/v, layer<t>/dTheta1,
   * layer<t>/dLogTheta2 (t = 1..T), theta2Init, rm/conv/{kernel,bias}, rm/fc1a/{kernel,bias},
   * rm/fc1b/{kernel,bias}, rm/fc2/{kernel,tau,bias}, rm/fc3/{kernel,bias}.
   */
  variables(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    this.amp.forEach((l, t) => {
      out[`layer${t + 1}/dB`] = l.dB;
      out[`layer${t + 1}/v`] = l.v;
      out[`layer${t + 1}/dTheta1`] = l.dTheta1;
      out[`layer${t + 1}/dLogTheta2`] = l.dLogTheta2;
    });
    out.theta2Init = this.theta2Init;
    const r = this.rm;
    Object.assign(out, {
      'rm/conv/kernel': r.convW,
      'rm/conv/bias': r.convB,
      'rm/fc1a/kernel': r.fc1aW,
      'rm/fc1a/bias': r.fc1aB,
      'rm/fc1b/kernel': r.fc1bW,
      'rm/fc1b/bias': r.fc1bB,
      'rm/fc2/kernel': r.fc2W,
      'rm/fc2/tau': r.fc2Tau,
      'rm/fc2/bias': r.fc2B,
      'rm/fc3/kernel': r.fc3W,
      'rm/fc3/bias': r.fc3B,
    });
    return out;
  }

  /**
   * The forward pass up to AMP layer `upTo` (1..T), and through the refinement module when
   * `refine` and `upTo` = T. Not tidied (the caller's scope owns the tensors).
   *
   * @param y        received rows [B, M, 2L] ({@link receivedRows})
   * @param codebook [L, NQ] complex
   * @param base1    log((Q - eps)/eps) ({@link theta1Base})
   * @param theta2   the initial theta_2 (theta2Init, or {@link theta2FromData} before it is set)
   */
  forward(y: tf.Tensor3D, codebook: ComplexTensor, base1: tf.Scalar, theta2: tf.Scalar, upTo: number, refine: boolean): DlMampnetForward {
    const { numDevices: N, numAntennas: M, sequenceLength: L } = this.scenario;
    const Q = numSequences(this.scenario);
    const K2 = 2 * N * Q;
    const B = y.shape[0];
    const Sr = cx.realMatrix(codebook) as tf.Tensor2D; // [2L, 2NQ]
    const SrT = tf.transpose(Sr) as tf.Tensor2D; // [2NQ, 2L]
    const logInit = tf.log(theta2);
    const dense = this.options.bMode === 'dense';
    const kronBase = dense ? (tf.reshape(tf.mul(tf.reshape(tf.eye(M), [M, 1, M, 1]), tf.reshape(SrT, [1, K2, 1, 2 * L])), [M * K2, M * 2 * L]) as tf.Tensor2D) : undefined;
    const C = this.options.onsagerNorm === '2LM' ? 2 * L * M : L * M;
    let x: tf.Tensor3D = tf.zeros([B, M, K2]);
    let r: tf.Tensor3D = y;
    const xs: tf.Tensor3D[] = [];
    const taus: tf.Tensor1D[] = [];
    let theta2Last: tf.Tensor2D | undefined;
    for (let t = 0; t < upTo; t++) {
      const layer = this.amp[t];
      const tau2 = meanSquare(r, 2 * L * M); // [B, 1, 1]
      // Z_t = X_{t-1} + B_t(R_{t-1})
      let br: tf.Tensor3D;
      if (dense) {
        const Bt = tf.add(kronBase as tf.Tensor2D, layer.dB) as tf.Tensor2D; // [M 2NQ, M 2L]
        br = tf.reshape(linear(tf.reshape(r, [B, M * 2 * L]) as tf.Tensor2D, Bt, 'pk'), [B, M, K2]);
      } else {
        const Bt = tf.add(SrT, layer.dB) as tf.Tensor2D; // [2NQ, 2L]
        br = tf.reshape(linear(tf.reshape(r, [B * M, 2 * L]) as tf.Tensor2D, Bt, 'pk'), [B, M, K2]);
      }
      const z = tf.add(x, br) as tf.Tensor3D;
      const theta1 = tf.add(base1, layer.dTheta1);
      const theta2t = tf.exp(tf.add(logInit, layer.dLogTheta2)) as tf.Tensor2D; // [M, 2NQ]
      const { x: xNext, onsager: b } = ampNonlinearity(z, tau2, theta1 as tf.Tensor2D, theta2t, layer.v as tf.Scalar, C);
      // R_t = Y - S_r X_t + (v_t / C) (sum_j eta'_j) R_{t-1}
      const sx = tf.reshape(linear(tf.reshape(xNext, [B * M, K2]) as tf.Tensor2D, Sr, 'pk'), [B, M, 2 * L]) as tf.Tensor3D;
      r = residual(y, sx, b, r);
      x = xNext;
      xs.push(x);
      taus.push(tf.reshape(tau2, [B]));
      theta2Last = theta2t;
    }
    if (!refine || upTo < this.options.layers) return { x: xs, tau2: taus };
    const { a, u } = this.refine(x, taus[taus.length - 1], theta2Last as tf.Tensor2D);
    return { x: xs, tau2: taus, a, u };
  }

  /**
   * The refinement module (Sec. IV-C, Fig. 4): X_bar = |X_T| (/ tau_T with rmInputNorm "tau");
   * c = 1xM convolution of X_bar; iota = mean over antennas; kappa_ST = sigmoid(FC1(iota)) * iota;
   * o = ReLU(c - kappa_ST); u = max-pool/max-unpool of o over each Q-block;
   * kappa_HT = ReLU(FC2([vec theta_{T,2}; tau_T^2])); a = FC3(u - kappa_HT) in R^{NQ}.
   * Returns a [B, NQ] and u [B, 2NQ].
   */
  private refine(xT: tf.Tensor3D, tau2: tf.Tensor1D, theta2: tf.Tensor2D): { a: tf.Tensor2D; u: tf.Tensor2D } {
    const Q = numSequences(this.scenario);
    const M = this.scenario.numAntennas;
    const [B, , K2] = xT.shape;
    const r = this.rm;
    const norm = this.options.rmInputNorm === 'tau';
    let xBar = tf.abs(xT); // [B, M, 2NQ]   (49)
    if (norm) xBar = tf.div(xBar, tf.reshape(tf.sqrt(tau2), [B, 1, 1]));
    const c = tf.add(tf.sum(tf.mul(xBar, tf.reshape(r.convW, [1, M, 1])), 1), r.convB); // [B, 2NQ] 1xM conv
    const iota = tf.mean(xBar, 1) as tf.Tensor2D; // [B, 2NQ] average pooling
    const hidden = tf.relu(tf.add(linear(iota, r.fc1aW as tf.Tensor2D, 'kp'), r.fc1aB)) as tf.Tensor2D;
    const vartheta = tf.sigmoid(tf.add(linear(hidden, r.fc1bW as tf.Tensor2D, 'kp'), r.fc1bB));
    const kappaSt = tf.mul(vartheta, iota); // (50)-(51)
    const o = tf.relu(tf.sub(c, kappaSt)) as tf.Tensor2D; // (52)
    const u = poolUnpool(o, Q);
    // kappa_HT = ReLU(FC2([vec theta_{T,2}; tau_T^2]))   (53)
    const thetaFeat = norm ? tf.log(theta2) : theta2;
    const tauFeat = norm ? tf.log(tau2) : tau2;
    const fromTheta = linear(tf.reshape(thetaFeat, [1, K2 * M]) as tf.Tensor2D, r.fc2W as tf.Tensor2D, 'kp'); // [1, 2NQ]
    const kappaHt = tf.relu(tf.add(tf.add(fromTheta, tf.mul(tf.reshape(tauFeat, [B, 1]), r.fc2Tau)), r.fc2B));
    const a = tf.add(linear(tf.sub(u, kappaHt) as tf.Tensor2D, r.fc3W as tf.Tensor2D, 'kp'), r.fc3B) as tf.Tensor2D; // (54)
    return { a, u };
  }

  dispose(): void {
    for (const l of this.amp) for (const v of Object.values(l)) (v as tf.Variable).dispose();
    for (const v of Object.values(this.rm)) (v as tf.Variable).dispose();
    this.theta2Init.dispose();
  }
}

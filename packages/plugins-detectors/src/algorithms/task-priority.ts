/**
 * The multi-task training loss of a detector with one classification task per user: the
 * per-task batch cross-entropies L_n and their weighted sum L = sum_n w_n L_n, with the
 * focal-loss task priority w_n of Mul-VAE.
 *
 * Reference: Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser
 * Detection for Grant-Free NOMA", IEEE Trans. Wireless Commun., 2022: reconstruction loss
 * Eqs. (13)/(15) (batch-mean categorical cross-entropy, natural log), focal task weight Eq. (19),
 * accuracy estimate kappa ~ exp(-L)/c of Theorem 2 / Appendix B (Eq. (20)), final loss Eq. (21).
 *
 * @remarks Deviations from the paper. Eq. (21),
 *   L = -ln(c) sum_n (1 - exp(-L_n)/c)^gamma L_n^2,
 *   does not follow from substituting kappa_n = exp(-L_n)/c into Eq. (19) (that gives
 *   w_n = (1 - kappa_n)^gamma (L_n + ln c)); kappa_n exceeds 1 for L_n < -ln c ~ 0.307 nats; and,
 *   with gradients flowing through the factor, each term f(L) = (1 - e^{-L}/c)^gamma L^2 is zero
 *   at L = 0 and at L* = -ln c with a local maximum in between (L ~ 0.147 for gamma = 2, where
 *   e^{-L}(1 - L) = c), so a task starting at ln M_n >= 0.69 nats descends to L* and stalls there.
 *   Eq. (21) is therefore kept only as the mode "paper-eq21" (literal, for fidelity and ablation);
 *   the default "focal-normalized" evaluates Eq. (19) with kappa_n clipped into (0, 1),
 *   normalises the weights to sum to N, and detaches them (the paper does not say whether the
 *   weight is a stop-gradient); "focal-accuracy" uses the measured batch accuracy as kappa_n.
 *   Once every task is below ~0.307 nats the focal-normalized weights are all equal, so training
 *   goes on like the plain sum of cross-entropies instead of stalling.
 */
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import type { ParamProblem } from '@gfra/core';

export const TaskPriorityParams = Type.Object(
  {
    prioritization: Type.Union([Type.Literal('none'), Type.Literal('paper-eq21'), Type.Literal('focal-normalized'), Type.Literal('focal-accuracy')], {
      default: 'focal-normalized',
      description:
        'task weights w_n of L = sum_n w_n L_n: "none" (w_n = 1); "paper-eq21" (the literal Eq. (21) with gradients through the factor; stalls at L_n ~ -ln c ~ 0.307 nats); ' +
        '"focal-normalized" (Eq. (19) with kappa_n = clip(exp(-L_n)/c), normalised to sum N, detached); "focal-accuracy" (the same with kappa_n the measured batch accuracy)',
    }),
    gamma: Type.Number({ minimum: 0, default: 2, description: 'focal exponent gamma of Eq. (19) (the paper uses 2, and 4 in one experiment)' }),
    c: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.7357,
      description: 'constant c of the accuracy estimate kappa ~ exp(-L)/c (Theorem 2, Appendix B; close to 2/e)',
    }),
  },
  { additionalProperties: false, default: {}, description: 'multi-task prioritising of the per-user cross-entropies (Ma, Wu, Jian, Gao, Shen, Eqs. (19)-(21))' },
);
export type TaskPriorityParams = Static<typeof TaskPriorityParams>;

/** Clip bounds of kappa_n in the focal modes: kappa in [1e-6, 1 - 1e-6]. */
const KAPPA_MIN = 1e-6;
/** Floor of 1 - kappa_n when kappa_n is a measured accuracy ("focal-accuracy"). */
const MISS_FLOOR = 1e-3;

/** Problems with the params (paths under `prefix`, e.g. "loss"). */
export function taskPriorityProblems(p: TaskPriorityParams, prefix = 'loss'): ParamProblem[] {
  const problems: ParamProblem[] = [];
  if (p.prioritization === 'paper-eq21' && !Number.isInteger(p.gamma)) {
    problems.push({
      path: `${prefix}.gamma`,
      message: `is ${p.gamma}; Eq. (21) raises 1 - exp(-L)/c, which is negative for L < -ln c, to this power (NaN)`,
      hint: 'Use an integer gamma with "paper-eq21"',
    });
  }
  return problems;
}

/**
 * The literal Eq. (21) on host numbers: L = -ln(c) sum_n (1 - exp(-L_n)/c)^gamma L_n^2.
 * NaN for a non-integer gamma when some L_n < -ln c.
 *
 * @param ce per-task batch cross-entropies L_n (nats)
 */
export function paperEq21Loss(ce: readonly number[], gamma: number, c: number): number {
  let sum = 0;
  for (const L of ce) sum += Math.pow(1 - Math.exp(-L) / c, gamma) * L * L;
  return -Math.log(c) * sum;
}

/**
 * The task weights w_n (host numbers, treated as constants by {@link prioritizedLoss}):
 *   - "none": w_n = 1;
 *   - "focal-normalized": rho_n = (1 - kappa_n)^gamma (-ln kappa_n) (Eq. (19)) with
 *     kappa_n = clip(exp(-L_n)/c, 1e-6, 1 - 1e-6) (Eq. (20)), and w_n = N rho_n / sum_m rho_m;
 *   - "focal-accuracy": the same with kappa_n = accuracy[n] clipped to [1e-6, 1 - 1e-3]
 *     (1 - kappa_n floored at 1e-3);
 *   - "paper-eq21": for logging only, the factor w_n = -ln(c) (1 - exp(-L_n)/c)^gamma L_n with
 *     sum_n w_n L_n = Eq. (21) (its gradient is not sum_n w_n dL_n: the factor is not detached).
 * The normalisation runs in the log domain, so tiny rho_n (1e-18 for a clipped kappa_n at
 * gamma = 2) neither underflow nor divide 0 by 0: equal rho_n give w_n = 1.
 *
 * @param ce       per-task batch cross-entropies L_n (nats)
 * @param accuracy per-task batch accuracies in [0, 1]; required by "focal-accuracy" only
 */
export function taskWeights(ce: readonly number[], p: TaskPriorityParams, accuracy?: readonly number[]): number[] {
  const N = ce.length;
  switch (p.prioritization) {
    case 'none':
      return Array<number>(N).fill(1);
    case 'paper-eq21':
      return ce.map((L) => -Math.log(p.c) * Math.pow(1 - Math.exp(-L) / p.c, p.gamma) * L);
    case 'focal-normalized':
      return normalisedFocal(
        ce.map((L) => clip(Math.exp(-L) / p.c, KAPPA_MIN, 1 - KAPPA_MIN)),
        p.gamma,
      );
    case 'focal-accuracy': {
      if (accuracy === undefined) throw new Error('task-priority: prioritization "focal-accuracy" needs the per-task batch accuracies');
      if (accuracy.length !== N) throw new Error(`task-priority: ${accuracy.length} accuracies for ${N} tasks`);
      return normalisedFocal(
        accuracy.map((k) => clip(k, KAPPA_MIN, 1 - MISS_FLOOR)),
        p.gamma,
      );
    }
  }
}

/** w_n = N rho_n / sum_m rho_m with rho_n = (1 - kappa_n)^gamma (-ln kappa_n), kappa_n in (0, 1). */
function normalisedFocal(kappa: readonly number[], gamma: number): number[] {
  const N = kappa.length;
  const logRho = kappa.map((k) => gamma * Math.log1p(-k) + Math.log(-Math.log(k)));
  const max = Math.max(...logRho);
  const e = logRho.map((l) => Math.exp(l - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => (N * x) / total);
}

function clip(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/**
 * Batch-mean categorical cross-entropy of one task in nats (Eq. (15)):
 * L_n = -(1/B) sum_t log softmax(z_t)[s_t], through logSoftmax (stable for large logits).
 *
 * With `validCount` = M_n the logits may be padded to a common width M_max >= M_n (tasks with
 * different alphabet sizes): only the first M_n columns enter the softmax (the others are sliced
 * off, so they get zero gradient).
 *
 * @param logits     [B, M_max] float32
 * @param labels     [B] int32 in [0, M_n) (checked on the host)
 * @param validCount M_n, the number of leading columns that are real classes (default: all)
 * @returns a scalar, differentiable with respect to the logits
 */
export function perTaskCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, validCount?: number): tf.Scalar {
  const [B, width] = logits.shape;
  const M = validCount ?? width;
  if (!Number.isInteger(M) || M < 1 || M > width) throw new Error(`perTaskCrossEntropy: validCount ${M} is not in [1, ${width}] (logits shape [${logits.shape}])`);
  if (labels.shape.length !== 1 || labels.shape[0] !== B) throw new Error(`perTaskCrossEntropy: labels shape [${labels.shape}] does not match logits shape [${logits.shape}]`);
  if (labels.dtype !== 'int32') throw new Error(`perTaskCrossEntropy: labels must be int32 (got ${labels.dtype})`);
  const bad = labels.dataSync().findIndex((s) => s < 0 || s >= M);
  if (bad >= 0) throw new Error(`perTaskCrossEntropy: label ${labels.dataSync()[bad]} at row ${bad} is not in [0, ${M})`);
  return tf.tidy(() => {
    const z = M === width ? logits : tf.slice(logits, [0, 0], [B, M]);
    const logP = tf.logSoftmax(z);
    const picked = tf.sum(tf.mul(logP, tf.oneHot(labels, M)), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/**
 * The prioritised multi-task loss from differentiable per-task cross-entropies L_n:
 *   - "paper-eq21": the literal Eq. (21), -ln(c) sum_n (1 - exp(-L_n)/c)^gamma L_n^2, with
 *     gradients through every factor;
 *   - otherwise L = sum_n w_n L_n (Eq. (13)) with w_n = {@link taskWeights} of the cross-entropy
 *     values.
 *
 * tfjs has no stop-gradient op, so the weights are detached by reading the L_n values on the
 * host (dataSync) and entering w_n as constants: the gradient is sum_n w_n dL_n. Reading values
 * inside the function given to tf.variableGrads / tf.grads is allowed (the forward pass runs
 * eagerly), at the cost of one synchronisation per call.
 *
 * @param perTaskCe N differentiable scalars L_n (nats), e.g. from {@link perTaskCrossEntropy}
 * @param accuracy  per-task batch accuracies, for "focal-accuracy" only
 * @returns a scalar (the caller disposes it)
 */
export function prioritizedLoss(perTaskCe: readonly tf.Scalar[], p: TaskPriorityParams, accuracy?: readonly number[]): tf.Scalar {
  if (perTaskCe.length === 0) throw new Error('prioritizedLoss: no tasks');
  return tf.tidy(() => {
    if (p.prioritization === 'paper-eq21') {
      const terms = perTaskCe.map((L) => {
        const miss = tf.sub(1, tf.div(tf.exp(tf.neg(L)), p.c));
        return tf.mul(tf.pow(miss, tf.scalar(p.gamma)), tf.square(L));
      });
      return tf.mul(-Math.log(p.c), tf.addN(terms)) as tf.Scalar;
    }
    if (p.prioritization === 'none') return tf.addN(perTaskCe.slice()) as tf.Scalar;
    const values = perTaskCe.map((L) => L.dataSync()[0]);
    const w = taskWeights(values, p, accuracy);
    return tf.addN(perTaskCe.map((L, n) => tf.mul(L, w[n]))) as tf.Scalar;
  });
}

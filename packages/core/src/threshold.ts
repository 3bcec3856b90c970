/**
 * The hard thresholding module of Y. Cui, S. Li, W. Zhang, "Jointly Sparse Signal Recovery and
 * Support Recovery via Deep Learning With Applications in MIMO-Based Grant-Free Random Access"
 * [Cui2021], Sec. IV-C (taken from the authors' earlier work, its ref. [36]):
 * a soft activity output alpha_tilde in R^N becomes alpha_hat(n) = 1[alpha_tilde(n) >= gamma],
 * with one threshold for all devices chosen on the I training samples as
 *
 *   gamma* = argmin_gamma P_E(gamma),   P_E(gamma) = (1 / (N I)) sum_i ||alpha^[i] - alpha_hat^[i](gamma)||_1,
 *
 * i.e. the number of misses plus false alarms. The paper does not say how to search; this is an
 * exact search in O(K log K) over the K = N I scores: sort them, and for every cut between two distinct
 * consecutive scores count the actives below it (misses) and the inactives at or above it
 * (false alarms); gamma is placed midway between the two scores at the best cut. Below every
 * score (all declared active) gamma = min - 1, above every score (none active) gamma = max + 1.
 */

export interface FittedThreshold {
  /** The threshold: declare active when score >= gamma. */
  readonly gamma: number;
  /** Misses plus false alarms on the fitting data at gamma. */
  readonly errors: number;
  /** Number of (trial, device) scores it was fitted on. */
  readonly samples: number;
  /** Misses at gamma (actives with score < gamma). */
  readonly misses: number;
  /** False alarms at gamma (inactives with score >= gamma). */
  readonly falseAlarms: number;
}

/**
 * gamma* minimising misses + false alarms of `score >= gamma` against `active` (0/1), over the
 * same-length arrays of scores and labels. Ties in the error count go to the lowest threshold.
 * Throws on empty input, mismatched lengths or non-finite scores.
 */
export function fitThreshold(scores: ArrayLike<number>, active: ArrayLike<number>): FittedThreshold {
  const K = scores.length;
  if (K === 0) throw new Error('fitThreshold: no scores to fit a threshold on');
  if (active.length !== K) throw new Error(`fitThreshold: ${K} scores but ${active.length} activity labels`);
  const order = Array.from({ length: K }, (_, i) => i);
  for (let i = 0; i < K; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`fitThreshold: score ${i} is ${scores[i]}; the detector's activityScore must be finite`);
  }
  order.sort((a, b) => scores[a] - scores[b]);
  let inactive = 0;
  for (let i = 0; i < K; i++) if (active[i] < 0.5) inactive++;
  // Cut at position c: scores order[0..c-1] below gamma (declared inactive), the rest at or above.
  let misses = 0;
  let falseAlarms = inactive;
  let best = { cut: 0, misses, falseAlarms };
  for (let c = 1; c <= K; c++) {
    const i = order[c - 1];
    if (active[i] >= 0.5) misses++;
    else falseAlarms--;
    // a threshold fits between c - 1 and c only where the scores differ (or past the end)
    if (c < K && scores[order[c]] === scores[i]) continue;
    if (misses + falseAlarms < best.misses + best.falseAlarms) best = { cut: c, misses, falseAlarms };
  }
  const lo = scores[order[0]];
  const hi = scores[order[K - 1]];
  let gamma: number;
  if (best.cut === 0) gamma = lo - 1;
  else if (best.cut === K) gamma = hi + 1;
  else {
    const [below, above] = [scores[order[best.cut - 1]], scores[order[best.cut]]];
    gamma = (below + above) / 2;
    if (!(gamma > below)) gamma = above; // adjacent floats: the midpoint rounds down onto `below`
  }
  return { gamma, errors: best.misses + best.falseAlarms, samples: K, misses: best.misses, falseAlarms: best.falseAlarms };
}

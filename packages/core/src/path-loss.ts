/**
 * Distance-based path loss PL(d) = a + b log10(d / 1 km) dB (the 3GPP macro-cell formula
 * 128.1 + 37.6 log10 d of L. Liu, W. Yu [Liu2018] and C. Tang, Z. Li, Z. Chen, H. H. Yang
 * [Tang2025], Sec. 3), and the mean gain of devices placed uniformly over an annulus: one
 * definition for the channels that draw it and the priors that must match it. Host float64 (raw
 * gains are about 1e-12).
 */

/** Geometry and path-loss law: devices in the annulus minDistanceKm <= d <= maxDistanceKm. */
export interface AnnulusPathLoss {
  readonly minDistanceKm: number;
  readonly maxDistanceKm: number;
  /** a in PL(dB) = a + b log10(d / 1 km). */
  readonly pathLossDb: number;
  /** b in PL(dB) = a + b log10(d / 1 km). */
  readonly pathLossExponentDb: number;
  /** Standard deviation of log-normal shadowing, dB (0 or absent: none). */
  readonly shadowingDb?: number;
}

/** beta(d) = 10^(-(a + b log10 d) / 10), d in km (without shadowing). */
export function pathLossGain(p: Pick<AnnulusPathLoss, 'pathLossDb' | 'pathLossExponentDb'>, distanceKm: number): number {
  return 10 ** (-(p.pathLossDb + p.pathLossExponentDb * Math.log10(distanceKm)) / 10);
}

/**
 * E[beta] for d uniform over the annulus area (density 2d / (r_max^2 - r_min^2)), times the mean
 * of the shadowing factor 10^(-X/10), X ~ N(0, s^2) dB, exp((s ln 10 / 10)^2 / 2). With p = b/10:
 * E[d^-p] = 2 (r_min^(2-p) - r_max^(2-p)) / ((p - 2)(r_max^2 - r_min^2)), and
 * 2 ln(r_max / r_min) / (r_max^2 - r_min^2) at p = 2; a degenerate annulus (r_min >= r_max) gives
 * the gain at r_min.
 */
export function annulusMeanPathGain(p: AnnulusPathLoss): number {
  const { minDistanceKm: r0, maxDistanceKm: r1 } = p;
  const q = p.pathLossExponentDb / 10;
  const area = r1 * r1 - r0 * r0;
  let moment: number; // E[d^-q]
  if (area <= 0) moment = r0 ** -q;
  else if (Math.abs(q - 2) < 1e-12) moment = (2 * Math.log(r1 / r0)) / area;
  else moment = (2 * (r0 ** (2 - q) - r1 ** (2 - q))) / ((q - 2) * area);
  const sLn = ((p.shadowingDb ?? 0) * Math.LN10) / 10;
  return 10 ** (-p.pathLossDb / 10) * moment * Math.exp((sLn * sLn) / 2);
}

/**
 * Paper 001's eps1/eps2 (Figs. 3(e), 8(e); spec mmv-autoencoder.md Sec. 3): the mean learned
 * activity prior over the first floor(N/2) devices (class N1 of the `two-class` traffic) and over
 * the others (N2), and their ratio, which tracks p1/p2 when the decoder learns the imbalance.
 */
export function priorDiagnostics(eps: readonly number[]): Record<string, number> {
  const half = Math.floor(eps.length / 2);
  const mean = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  if (half === 0) return { eps: mean(eps) };
  const eps1 = mean(eps.slice(0, half));
  const eps2 = mean(eps.slice(half));
  return { eps1, eps2, 'eps1/eps2': eps1 / eps2 };
}

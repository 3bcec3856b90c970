/**
 * Noise and SNR conventions, written down once and used by every channel plugin (and printed by
 * `gfra list`).
 *
 * Complex baseband throughout: noise w ~ CN(0, sigma^2) per complex sample, i.e. sigma^2 / 2 per
 * real component. sigma^2 is `noiseVar`; N0 = sigma^2.
 *
 * Pilot-based GFRA (block fading over M receive antennas). Device n sends x_n in C^L with unit
 * energy E||x_n||^2 = 1 (i.i.d. CN(0, 1/L) entries, or unit-norm columns), through
 * h_n ~ CN(0, beta_n I_M). Its SNR per receive antenna is the received energy of the whole
 * sequence over the noise variance per sample:
 *
 *   SNR_n = beta_n E||x_n||^2 / sigma^2 = beta_n / sigma^2.
 *
 * Code-domain NOMA (per-resource fading over L resource elements, N users, J bits per user, all
 * codewords of user n with average energy E_s = E||x_n||^2 over the block; overloading factor
 * lambda = N / L):
 *
 *   Eb/N0 (per user)                    = E_s / (J sigma^2)
 *   Es/N0 (per resource element, total) = N E_s / (L sigma^2) = lambda J Eb/N0.
 */

export const SNR_CONVENTION = 'SNR_n = beta_n E||x_n||^2 / sigma^2 per receive antenna (unit-energy sequence: beta_n / sigma^2)';
export const EBN0_CONVENTION = 'Eb/N0 = E_s / (J sigma^2) per user, E_s = average codeword energy; Es/N0 per resource element = lambda J Eb/N0, lambda = N/L';

/** dB -> linear power ratio. */
export function fromDb(db: number): number {
  return 10 ** (db / 10);
}

/** Linear power ratio -> dB. */
export function toDb(x: number): number {
  return 10 * Math.log10(x);
}

/** beta_n for a target per-antenna SNR (dB) of a unit-energy sequence: beta = sigma^2 10^(SNR/10). */
export function largeScaleFadingForSnr(snrDb: number, noiseVar: number): number {
  return noiseVar * fromDb(snrDb);
}

/** sigma^2 giving a per-user Eb/N0 (dB) for codewords of average energy E_s carrying J bits. */
export function noiseVarForEbN0(ebN0Db: number, symbolEnergy: number, bitsPerDevice: number): number {
  if (bitsPerDevice <= 0) throw new Error(`Eb/N0 needs bitsPerDevice > 0 (got ${bitsPerDevice})`);
  return symbolEnergy / (bitsPerDevice * fromDb(ebN0Db));
}

/** Es/N0 per resource element (dB) from the per-user Eb/N0 (dB): Es/N0 = lambda J Eb/N0. */
export function esN0FromEbN0(ebN0Db: number, numDevices: number, resourceElements: number, bitsPerDevice: number): number {
  return ebN0Db + toDb((numDevices / resourceElements) * bitsPerDevice);
}

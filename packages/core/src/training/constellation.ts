/**
 * Multi-user constellations as plain JSON, one table of codewords per user, with the diagnostics
 * a reader checks first (codeword energies, power per resource element, minimum distances):
 *
 *   { "format": "constellation/v1", "source": "mulvae", "K": 4,
 *     "energyConvention": "E||x_n||^2 = K",
 *     "users": [ { "id": 1, "bits": 1, "points": [ [[re, im], ... K], ... 2^bits ] }, ... ],
 *     "training": { ... },                 optional: how it was obtained
 *     "diagnostics": { ... } }             optional on input, always written on export
 *
 * `points[s][k]` is user n's complex value on resource element k for message s (0-based). The
 * same file holds learned constellations (Mul-VAE: Z. Ma, W. Wu, M. Jian, F. Gao, X. Shen, "Joint
 * Constellation Design and Multiuser Detection for Grant-Free NOMA", IEEE TWC 2022, Sec. III-C1,
 * Fig. 5) and classical ones (SCMA codebooks, spreading times BPSK / QPSK), so that any fixed
 * codebook encoder and receiver can use either.
 *
 * In gfra's layout a constellation is the codebook [K, N*Q] of SideInformation.codebook, Q = 2^J
 * with J = max_n bits_n; column n*Q + s is user n's codeword for message s, and the columns
 * s >= 2^{bits_n} of a lower-rate user are zero.
 */
import * as fs from 'node:fs';

export const CONSTELLATION_FORMAT = 'constellation/v1';

/** One user's codewords: points[s][k] = [re, im]. */
export interface ConstellationUser {
  /** 1-based user number (the paper's numbering). */
  readonly id: number;
  readonly bits: number;
  readonly points: readonly (readonly (readonly [number, number])[])[];
}

/** What {@link constellationDiagnostics} measures. */
export interface ConstellationDiagnostics {
  /** [user][s]: ||x_n(s)||^2. */
  readonly codewordEnergies: readonly (readonly number[])[];
  /** [user]: mean over the user's codewords of ||x_n(s)||^2. */
  readonly averageEnergy: readonly number[];
  /** [user][k]: mean over the user's codewords of |x_{n,k}(s)|^2. */
  readonly powerPerRe: readonly (readonly number[])[];
  /** (user, RE) pairs whose power exceeds 0.1 of the user's uniform share averageEnergy / K (a dense constellation has all N K). */
  readonly densePairs: number;
  /** [user]: min over s != s' of ||x_n(s) - x_n(s')|| (one user alone). */
  readonly userMinDistance: readonly number[];
  /**
   * [k]: min over message tuples s != s' that differ in a user present on RE k (non-zero there)
   * of |sum_n x_{n,k}(s_n) - x_{n,k}(s'_n)|: how well RE k alone separates the superimposed
   * points (0: two tuples collide on it).
   */
  readonly reMinDistance: readonly number[];
  /** min over message tuples s != s' of ||sum_n x_n(s_n) - x_n(s'_n)|| over all K REs; absent above 4096 tuples. */
  readonly jointMinDistance?: number;
}

export interface ConstellationFile {
  readonly format: typeof CONSTELLATION_FORMAT;
  readonly source: string;
  readonly K: number;
  readonly energyConvention: string;
  readonly users: readonly ConstellationUser[];
  readonly training?: Readonly<Record<string, unknown>>;
  readonly diagnostics?: ConstellationDiagnostics;
  readonly provenance?: Readonly<Record<string, unknown>>;
}

/** The most message tuples for which the joint minimum distance is computed. */
const JOINT_TUPLES_MAX = 4096;
/** A user counts as present on an RE when one of its codewords has |x| above this there. */
const PRESENT = 1e-9;

/** Check a parsed value; returns the problems (empty when it is a valid constellation file). */
export function constellationProblems(value: unknown): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return ['is not a JSON object'];
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  if (v.format !== CONSTELLATION_FORMAT) problems.push(`"format" must be "${CONSTELLATION_FORMAT}" (got ${JSON.stringify(v.format)})`);
  const K = v.K;
  if (!Number.isInteger(K) || (K as number) < 1) problems.push(`"K" must be a positive integer (got ${JSON.stringify(K)})`);
  if (!Array.isArray(v.users) || v.users.length === 0) return [...problems, '"users" must be a non-empty list'];
  v.users.forEach((u: unknown, n) => {
    const at = `users[${n}]`;
    if (u === null || typeof u !== 'object') return void problems.push(`${at} is not an object`);
    const user = u as Record<string, unknown>;
    if (!Number.isInteger(user.bits) || (user.bits as number) < 0 || (user.bits as number) > 16) problems.push(`${at}.bits must be an integer in [0, 16] (got ${JSON.stringify(user.bits)})`);
    const points = user.points;
    if (!Array.isArray(points)) return void problems.push(`${at}.points must be a list of codewords`);
    if (Number.isInteger(user.bits) && points.length !== 2 ** (user.bits as number)) problems.push(`${at}.points has ${points.length} codewords; bits ${String(user.bits)} needs ${2 ** (user.bits as number)}`);
    points.forEach((word: unknown, s) => {
      const ok = Array.isArray(word) && word.length === K && word.every((x) => Array.isArray(x) && x.length === 2 && x.every((c) => typeof c === 'number' && Number.isFinite(c)));
      if (!ok) problems.push(`${at}.points[${s}] must be a list of K = ${String(K)} finite [re, im] pairs`);
    });
  });
  return problems;
}

/** Read and check a constellation file; throws an Error naming the file and every problem. */
export function readConstellationFile(file: string): ConstellationFile {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new Error(code === 'ENOENT' ? `file not found: ${file}` : `${file} is not valid JSON (${(err as Error).message})`);
  }
  const problems = constellationProblems(value);
  if (problems.length > 0) throw new Error(`${file} is not a ${CONSTELLATION_FORMAT} file: ${problems.join('; ')}`);
  return value as ConstellationFile;
}

/**
 * The users of a codebook [K, N*Q] (row-major re / im, column n*Q + s) with `deviceBits[n]` bits
 * for user n (columns s >= 2^{bits_n} are ignored).
 */
export function constellationUsers(re: ArrayLike<number>, im: ArrayLike<number>, K: number, deviceBits: readonly number[]): ConstellationUser[] {
  const N = deviceBits.length;
  const cols = re.length / K;
  const Q = cols / N;
  if (!Number.isInteger(Q) || 2 ** Math.max(...deviceBits) > Q) {
    throw new Error(`constellationUsers: a [${K}, ${cols}] codebook does not hold ${N} users with up to ${Math.max(...deviceBits)} bits`);
  }
  return deviceBits.map((bits, n) => ({
    id: n + 1,
    bits,
    points: Array.from({ length: 2 ** bits }, (_, s) => Array.from({ length: K }, (_, k) => [re[k * cols + n * Q + s], im[k * cols + n * Q + s]] as const)),
  }));
}

/** The codebook [K, N*Q] (row-major re / im) of a constellation, Q = 2^{max_n bits_n}, unused columns zero. */
export function constellationCodebook(c: Pick<ConstellationFile, 'K' | 'users'>): { shape: [number, number]; re: number[]; im: number[]; deviceBits: number[] } {
  const N = c.users.length;
  const Q = 2 ** Math.max(...c.users.map((u) => u.bits));
  const cols = N * Q;
  const re = new Array<number>(c.K * cols).fill(0);
  const im = new Array<number>(c.K * cols).fill(0);
  c.users.forEach((u, n) =>
    u.points.forEach((word, s) =>
      word.forEach(([a, b], k) => {
        re[k * cols + n * Q + s] = a;
        im[k * cols + n * Q + s] = b;
      }),
    ),
  );
  return { shape: [c.K, cols], re, im, deviceBits: c.users.map((u) => u.bits) };
}

/** Energies, power per RE and minimum distances of a constellation (host float64). */
export function constellationDiagnostics(users: readonly ConstellationUser[], K: number): ConstellationDiagnostics {
  const abs2 = ([a, b]: readonly [number, number]) => a * a + b * b;
  const codewordEnergies = users.map((u) => u.points.map((w) => w.reduce((e, x) => e + abs2(x), 0)));
  const averageEnergy = codewordEnergies.map((e) => e.reduce((a, b) => a + b, 0) / e.length);
  const powerPerRe = users.map((u) => Array.from({ length: K }, (_, k) => u.points.reduce((p, w) => p + abs2(w[k]), 0) / u.points.length));
  const densePairs = powerPerRe.reduce((count, row, n) => count + row.filter((p) => p > (0.1 * averageEnergy[n]) / K).length, 0);
  const userMinDistance = users.map((u) => {
    let best = Infinity;
    for (let a = 0; a < u.points.length; a++) {
      for (let b = a + 1; b < u.points.length; b++) {
        best = Math.min(best, Math.sqrt(u.points[a].reduce((d, x, k) => d + abs2([x[0] - u.points[b][k][0], x[1] - u.points[b][k][1]]), 0)));
      }
    }
    return best;
  });
  const reMinDistance = Array.from({ length: K }, (_, k) => {
    const present = users.filter((u) => u.points.some((w) => abs2(w[k]) > PRESENT * PRESENT));
    return minPairDistance(present.map((u) => u.points.map((w) => [w[k]])));
  });
  const tuples = users.reduce((p, u) => p * u.points.length, 1);
  const jointMinDistance = tuples <= JOINT_TUPLES_MAX ? minPairDistance(users.map((u) => u.points)) : undefined;
  return { codewordEnergies, averageEnergy, powerPerRe, densePairs, userMinDistance, reMinDistance, ...(jointMinDistance !== undefined ? { jointMinDistance } : {}) };
}

/**
 * min over message tuples s != s' of ||sum_n x_n(s_n) - x_n(s'_n)|| (Infinity for fewer than two
 * tuples). x[n][s] is a vector of [re, im].
 */
function minPairDistance(x: readonly (readonly (readonly (readonly [number, number])[])[])[]): number {
  if (x.length === 0) return Infinity;
  const dim = x[0][0].length;
  // every superimposed point, as a flat [re, im, re, im, ...] row
  let points: number[][] = [new Array<number>(2 * dim).fill(0)];
  for (const user of x) {
    points = points.flatMap((p) => user.map((w) => p.map((v, i) => v + w[i >> 1][i & 1])));
  }
  let best = Infinity;
  for (let a = 0; a < points.length; a++) {
    for (let b = a + 1; b < points.length; b++) {
      let d = 0;
      for (let i = 0; i < points[a].length; i++) d += (points[a][i] - points[b][i]) ** 2;
      if (d < best) best = d;
    }
  }
  return Math.sqrt(best);
}

/** A constellation file of a codebook [K, N*Q], with its diagnostics. */
export function constellationFile(
  codebook: { readonly re: ArrayLike<number>; readonly im: ArrayLike<number>; readonly K: number },
  deviceBits: readonly number[],
  meta: { readonly source: string; readonly energyConvention?: string; readonly training?: Record<string, unknown>; readonly provenance?: Record<string, unknown> },
): ConstellationFile {
  const users = constellationUsers(codebook.re, codebook.im, codebook.K, deviceBits);
  return {
    format: CONSTELLATION_FORMAT,
    source: meta.source,
    K: codebook.K,
    energyConvention: meta.energyConvention ?? 'E||x_n||^2 = K',
    users,
    ...(meta.training !== undefined ? { training: meta.training } : {}),
    diagnostics: constellationDiagnostics(users, codebook.K),
    ...(meta.provenance !== undefined ? { provenance: meta.provenance } : {}),
  };
}

/** The file as JSON text: one line per top-level field and per user (readable, diffable). */
export function constellationJson(c: ConstellationFile): string {
  const fields = Object.entries(c).map(([k, v]) =>
    k === 'users' ? ` "users": [\n${(v as ConstellationUser[]).map((u) => `  ${JSON.stringify(u)}`).join(',\n')}\n ]` : ` ${JSON.stringify(k)}: ${JSON.stringify(v)}`,
  );
  return `{\n${fields.join(',\n')}\n}\n`;
}

import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  deviceSequences,
  FILE_PATH_KEYWORD,
  TOKENS,
  type ComplexTensor,
  type Encoder,
  type ParamProblem,
  type Scenario,
  type SideInformation,
  type TrafficSample,
} from '@gfra/core';
import { FixedCodebook } from './codebook-transmitter';

/** A complex number as [re, im]. */
export type ComplexPair = readonly [number, number];

/**
 * An SCMA codebook: `codewords[n][q][l]` is resource element l of codeword q of user n, as
 * [re, im]. N users, Q = 2^J codewords per user, L resource elements; a user occupies the
 * resource elements where any of its codewords is non-zero (its column of the factor graph).
 */
export type CodebookValues = readonly (readonly (readonly ComplexPair[])[])[];

// The four one-dimensional point sets (values of codewords 0..3 on one resource element) that
// make up the 6-user codebook below; each is the same 4-point set {±0.7851, ±0.2243} rotated.
const P_REAL: ComplexPair[] = [[0.7851, 0], [-0.2243, 0], [0.2243, 0], [-0.7851, 0]];
const P_ROT_A: ComplexPair[] = [[-0.1815, -0.1318], [-0.6351, -0.4615], [0.6351, 0.4615], [0.1815, 0.1318]];
const P_ROT_B: ComplexPair[] = [[-0.6351, 0.4615], [0.1815, -0.1318], [-0.1815, 0.1318], [0.6351, -0.4615]];
const P_ROT_C: ComplexPair[] = [[0.1392, -0.1759], [0.4873, -0.6156], [-0.4873, 0.6156], [-0.1392, 0.1759]];
const P_ROT_D: ComplexPair[] = [[-0.0055, -0.2242], [-0.0193, -0.7848], [0.0193, 0.7848], [0.0055, 0.2242]];
const ZERO: ComplexPair[] = [[0, 0], [0, 0], [0, 0], [0, 0]];

/** Which point set each user puts on resource elements 0..3 (ZERO = resource element unused). */
const LAYOUT: readonly (readonly ComplexPair[][])[] = [
  [ZERO, P_ROT_A, ZERO, P_REAL], // user 0: REs 1, 3
  [P_REAL, ZERO, P_ROT_A, ZERO], // user 1: REs 0, 2
  [P_ROT_B, P_ROT_C, ZERO, ZERO], // user 2: REs 0, 1
  [ZERO, ZERO, P_REAL, P_ROT_D], // user 3: REs 2, 3
  [P_ROT_D, ZERO, ZERO, P_ROT_B], // user 4: REs 0, 3
  [ZERO, P_REAL, P_ROT_C, ZERO], // user 5: REs 1, 2
];

/**
 * The 6-user, 4-resource-element, 4-point SCMA codebook released with the 1st 5G Algorithm
 * Innovation Competition (Huawei / innovateasia.com, 2015, "SCMA" problem; values as published,
 * 4 decimals). Every codeword has energy 0.7851^2 + 0.2243^2 = 0.6667 = 2/3, so each resource
 * element, shared by d_f = 3 users, carries unit average power. Codeword q carries the bits of q
 * in natural binary, most significant bit first.
 */
export const SCMA_6X4_CODEBOOK: CodebookValues = LAYOUT.map((perRe) =>
  [0, 1, 2, 3].map((q) => perRe.map((points) => points[q])),
);

/**
 * Factor graph of the built-in codebook: FACTOR_GRAPH_6X4[l][n] = 1 if user n occupies resource
 * element l (0-based). Each user occupies d_v = 2 resource elements; each resource element is
 * shared by d_f = 3 users.
 */
export const FACTOR_GRAPH_6X4: readonly (readonly number[])[] = [
  [0, 1, 1, 0, 1, 0],
  [1, 0, 1, 0, 0, 1],
  [0, 1, 0, 1, 0, 1],
  [1, 0, 0, 1, 1, 0],
];

/** Size of a codebook: N users, Q codewords each, L resource elements. */
export function codebookSize(c: CodebookValues): { numUsers: number; numCodewords: number; numResources: number } {
  return { numUsers: c.length, numCodewords: c[0]?.length ?? 0, numResources: c[0]?.[0]?.length ?? 0 };
}

/** Factor graph F[l][n] in {0, 1}: 1 where any codeword of user n is non-zero on resource element l. */
export function factorGraph(c: CodebookValues): number[][] {
  const { numUsers: N, numResources: L } = codebookSize(c);
  return Array.from({ length: L }, (_, l) =>
    Array.from({ length: N }, (_, n) => (c[n].some((cw) => cw[l][0] !== 0 || cw[l][1] !== 0) ? 1 : 0)),
  );
}

/** Average codeword energy of each user, mean_q ||x_{n,q}||^2. */
export function userEnergies(c: CodebookValues): number[] {
  return c.map((user) => user.reduce((s, cw) => s + cw.reduce((e, [re, im]) => e + re * re + im * im, 0), 0) / user.length);
}

function preview(x: unknown): string {
  const text = JSON.stringify(x);
  return text === undefined ? String(x) : text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Check the shape of a parsed codebook (`{ "codebook": [user][codeword][resource element] = [re, im] }`).
 * Returns the problems found (at most a few), each naming the offending entry.
 */
export function codebookProblems(data: unknown): string[] {
  const problems: string[] = [];
  if (data === null || typeof data !== 'object' || Array.isArray(data) || !('codebook' in data)) {
    return ['expected a JSON object with a "codebook" array: codebook[user][codeword][resource element] = [re, im]'];
  }
  const cb = (data as { codebook: unknown }).codebook;
  if (!Array.isArray(cb) || cb.length === 0) return [`"codebook" must be a non-empty array of users (got ${preview(cb)})`];
  const first = cb[0];
  const Q = Array.isArray(first) ? first.length : 0;
  const firstCw = Array.isArray(first) ? first[0] : undefined;
  const L = Array.isArray(firstCw) ? firstCw.length : 0;
  if (!(Q >= 2 && Number.isInteger(Math.log2(Q)))) {
    return [`codebook[0] has ${Array.isArray(first) ? `${Q} codewords` : `no codeword list (got ${preview(first)})`}; every user needs Q = 2^J >= 2 codewords`];
  }
  if (L === 0) return [`codebook[0][0] must be a non-empty array of [re, im] pairs, one per resource element (got ${preview(firstCw)})`];
  const add = (p: string) => {
    if (problems.length < 5) problems.push(p);
  };
  cb.forEach((user: unknown, n) => {
    if (!Array.isArray(user) || user.length !== Q) {
      add(`codebook[${n}] must be an array of ${Q} codewords, as codebook[0] (got ${Array.isArray(user) ? `${user.length} codewords` : preview(user)})`);
      return;
    }
    let energy = 0;
    user.forEach((cw: unknown, q) => {
      if (!Array.isArray(cw) || cw.length !== L) {
        add(`codebook[${n}][${q}] must be an array of ${L} resource elements, as codebook[0][0] (got ${Array.isArray(cw) ? `${cw.length}` : preview(cw)})`);
        return;
      }
      cw.forEach((z: unknown, l) => {
        if (!Array.isArray(z) || z.length !== 2 || !z.every((v) => typeof v === 'number' && Number.isFinite(v))) {
          add(`codebook[${n}][${q}][${l}] must be [re, im], two finite numbers (got ${preview(z)})`);
          return;
        }
        energy += (z[0] as number) ** 2 + (z[1] as number) ** 2;
      });
    });
    if (energy === 0 && problems.length === 0) add(`codebook[${n}]: every codeword is zero`);
  });
  return problems;
}

/** Read and check a codebook file. Throws an Error naming the file and what is wrong. */
export function readCodebookFile(file: string): CodebookValues {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read codebook file "${file}"${code === 'ENOENT' ? ': no such file' : `: ${(err as Error).message}`}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`codebook file "${file}" is not valid JSON (${(err as Error).message})`);
  }
  const problems = codebookProblems(data);
  if (problems.length > 0) throw new Error(`codebook file "${file}": ${problems.join('; ')}`);
  return (data as { codebook: CodebookValues }).codebook;
}

export const ScmaCodebookParams = Type.Object(
  {
    file: Type.Optional(
      Type.String({
        minLength: 1,
        [FILE_PATH_KEYWORD]: true,
        description:
          'JSON codebook file (path relative to the spec, or absolute): { "codebook": [user][codeword][resource element] = [re, im] }; default: the built-in 6-user, 4-RE, 4-point SCMA codebook',
      }),
    ),
    normalize: Type.Union([Type.Literal('per-user'), Type.Literal('total'), Type.Literal('none')], {
      default: 'per-user',
      description:
        '"per-user": scale each user to average codeword energy 1; "total": one scale so the average over all users is 1; "none": values as given (built-in: 2/3 per codeword)',
    }),
  },
  { additionalProperties: false },
);
export type ScmaCodebookParams = Static<typeof ScmaCodebookParams>;

/** The codebook values the parameters select (built-in or file), before normalisation. */
export function selectedCodebook(p: ScmaCodebookParams): CodebookValues {
  return p.file === undefined ? SCMA_6X4_CODEBOOK : readCodebookFile(p.file);
}

/** Problems with the codebook the parameters select, and with its fit to the scenario. */
function checkParams(p: ScmaCodebookParams, s: Scenario): ParamProblem[] {
  let values: CodebookValues;
  try {
    values = selectedCodebook(p);
  } catch (err) {
    return [{ path: 'file', message: (err as Error).message, hint: 'See `gfra list encoder` for the codebook file format' }];
  }
  const { numUsers: N, numCodewords: Q, numResources: L } = codebookSize(values);
  const J = Math.log2(Q);
  const what = p.file === undefined ? 'the built-in SCMA codebook' : `codebook file "${p.file}"`;
  if (N === s.numDevices && L === s.sequenceLength && J === s.bitsPerDevice) return perDeviceProblems(what, J, s);
  return [
    {
      path: p.file === undefined ? '' : 'file',
      message: `${what} has ${N} users, ${L} resource elements and ${Q} codewords per user (J = ${J} bits), but the scenario has numDevices = ${s.numDevices}, sequenceLength = ${s.sequenceLength}, bitsPerDevice = ${s.bitsPerDevice}`,
      hint: `Set "scenario": { "numDevices": ${N}, "sequenceLength": ${L}, "bitsPerDevice": ${J} }${p.file === undefined ? ', or give a codebook file that fits the scenario' : ''}`,
    },
  ];
}

/**
 * The codewords a device with J_n = 1 uses out of a 4-point codebook, for messages 0 and 1: in the
 * built-in codebook, codewords 0 and 3 are negatives of each other (an antipodal pair with the
 * large amplitude on one of the device's REs and the small one on the other).
 */
export const LOW_RATE_CODEWORDS: readonly [number, number] = [0, 3];

/** Problems of per-device bits (scenario.deviceBits) with a codebook of J bits per user. */
function perDeviceProblems(what: string, J: number, s: Scenario): ParamProblem[] {
  const bits = s.deviceBits;
  if (bits === undefined) return [];
  if (bits.length !== s.numDevices) {
    return [{ path: '', message: `bitsPerDevice has ${bits.length} entries, but numDevices is ${s.numDevices}`, hint: 'Give one number of bits per device' }];
  }
  if (J !== 2) {
    return [
      {
        path: 'file',
        message: `per-device bits (bitsPerDevice list) need a 4-point codebook (J = 2), but ${what} has ${2 ** J} codewords per user (J = ${J})`,
        hint: 'Give one number for bitsPerDevice, or a codebook file with 4 codewords per user',
      },
    ];
  }
  const bad = bits.flatMap((j, n) => (j === 1 || j === 2 ? [] : [`device ${n}: J_n = ${j}`]));
  if (bad.length === 0) return [];
  return [
    {
      path: '',
      message: `${what} supports J_n = 2 (all 4 codewords) or J_n = 1 (codewords ${LOW_RATE_CODEWORDS.join(' and ')}) per device, but the scenario has ${bad.join(', ')}`,
      hint: 'Use bitsPerDevice entries of 1 or 2, e.g. [1, 1, 1, 2, 2, 2]',
    },
  ];
}

/**
 * The codewords each user actually sends, padded to Q with zero codewords: a user with J_n = 1
 * sends {@link LOW_RATE_CODEWORDS} for messages 0 and 1; without per-device bits, all of them.
 */
export function usedCodewords(c: CodebookValues, s: Scenario): CodebookValues {
  if (s.deviceBits === undefined) return c;
  const zero = (user: readonly (readonly ComplexPair[])[]) => user[0].map(() => [0, 0] as const);
  return c.map((user, n) => (s.deviceBits?.[n] === 1 ? [user[LOW_RATE_CODEWORDS[0]], user[LOW_RATE_CODEWORDS[1]], zero(user), zero(user)] : user));
}

/**
 * Sparse code multiple access (SCMA) codebook encoder: user n maps its J bits (message m_n in
 * [0, Q), natural binary, most significant bit first) to codeword x_{n, m_n} in C^L of its own
 * codebook, which is non-zero only on the d_v resource elements of its column of the factor
 * graph; the L resource elements are shared by N > L users (overloading lambda = N / L).
 *
 * Reference: H. Nikopour, H. Baligh, "Sparse Code Multiple Access", IEEE PIMRC 2013 [Nikopour2013].
 * Built-in codebook: the 6-user, 4-resource-element, 4-point codebook of the 1st 5G Algorithm
 * Innovation Competition (Huawei, 2015), {@link SCMA_6X4_CODEBOOK}, factor graph
 * {@link FACTOR_GRAPH_6X4} (lambda = 150 %, d_v = 2, d_f = 3). The values were taken from the
 * public releases of that set, as reproduced identically in the open SCMA simulators of
 * V. P. Klimentyev and A. B. Sergienko (github.com/klimentyev/scma, 2015) and AFF3CT
 * (aff3ct/aff3ct, src/Module/Modulator/SCMA).
 *
 * Normalisation (`normalize`): the published values give every codeword energy 2/3 (unit power
 * per resource element in total). By default each user's codebook is scaled to average codeword
 * energy E_s = mean_q ||x_{n,q}||^2 = 1, which is what channels' `symbolEnergy` (default 1)
 * assumes for Eb/N0 = E_s / (J sigma^2). Scaling does not change BER against Eb/N0 as long as
 * the channel is told E_s.
 *
 * Codebook file format (JSON): `{ "codebook": [user][codeword][resource element] = [re, im] }`,
 * Q = 2^J codewords per user, the same L for every codeword; other top-level keys (e.g.
 * "name", "reference") are ignored.
 *
 * @output tx       [B, N, L] complex: a_n x_{n, m_n} (zero for inactive users)
 * @output codebook [L, N*Q] complex, column n*Q + q = codeword q of user n
 * Per-device bits (a `bitsPerDevice` list with entries 1 and 2, J = 2): a device with J_n = 1
 * sends codewords 0 and 3 of its 4-point codebook ({@link LOW_RATE_CODEWORDS}) for messages 0
 * and 1, and its codebook columns q >= 2 are zero; the normalisation averages over the codewords a
 * device uses.
 *
 * @remarks SCMA users are normally all active (e.g. traffic `fixed-count` with numActive = N).
 *   Per-device bits: the low-rate subset {0, 3} is our choice (the SCMA literature, and Z. Ma et
 *   al., "Joint Constellation Design and Multiuser Detection for Grant-Free NOMA", which compares
 *   against SCMA at rates (1, 1, 1, 2, 2, 2), do not say how a 1-bit user uses a 4-point
 *   codebook); it keeps the antipodal pair of largest distance and the user's factor-graph column.
 */
@injectable()
export class ScmaCodebookEncoder implements Encoder {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'scma-codebook',
    summary: 'SCMA sparse codebooks: the 6-user, 4-RE, 4-point codebook of the 2015 5G algorithm competition, or one from a JSON file',
    reference: 'H. Nikopour, H. Baligh, "Sparse code multiple access", IEEE PIMRC 2013 [Nikopour2013]; codebook: Huawei 1st 5G Algorithm Innovation Competition (2015)',
    params: ScmaCodebookParams,
    provides: () => ['codebook'],
    check: checkParams,
    perDeviceBits: true,
    notes: [
      'Built-in codebook: N = 6 users, L = 4 resource elements, Q = 4 codewords (J = 2); scenario { numDevices: 6, sequenceLength: 4, bitsPerDevice: 2 }.',
      'Codebook file: { "codebook": [user][codeword][resource element] = [re, im] }, Q = 2^J codewords per user.',
      'Per-device bits: bitsPerDevice may be a list of 1s and 2s with a 4-point codebook (e.g. [1, 1, 1, 2, 2, 2]); a 1-bit device sends codewords 0 and 3 (antipodal), normalised over those two.',
    ],
  });

  /** The codebook values after normalisation. */
  readonly values: CodebookValues;
  private readonly book: FixedCodebook;

  constructor(
    @inject(TOKENS.params) params: ScmaCodebookParams,
    @inject(TOKENS.scenario) scenario: Scenario,
  ) {
    const problems = checkParams(params, scenario);
    if (problems.length > 0) throw new Error(problems[0].message);
    const raw = usedCodewords(selectedCodebook(params), scenario);
    const used = deviceSequences(scenario);
    // mean over the codewords each user sends (zero padding excluded)
    const energies = userEnergies(raw).map((e, n) => (e * codebookSize(raw).numCodewords) / used[n]);
    const total = energies.reduce((a, b) => a + b, 0) / energies.length;
    const scales = energies.map((e) => (params.normalize === 'per-user' ? 1 / Math.sqrt(e) : params.normalize === 'total' ? 1 / Math.sqrt(total) : 1));
    this.values = raw.map((user, n) => user.map((cw) => cw.map(([re, im]) => [re * scales[n], im * scales[n]] as const)));
    const { numUsers: N, numCodewords: Q, numResources: L } = codebookSize(this.values);
    const re = new Float32Array(N * Q * L);
    const im = new Float32Array(N * Q * L);
    this.values.forEach((user, n) =>
      user.forEach((cw, q) =>
        cw.forEach(([a, b], l) => {
          re[(n * Q + q) * L + l] = a;
          im[(n * Q + q) * L + l] = b;
        }),
      ),
    );
    const codebook = cx.tidy(() => cx.transpose(cx.reshape({ re: tf.tensor3d(re, [N, Q, L]), im: tf.tensor3d(im, [N, Q, L]) }, [N * Q, L])));
    this.book = new FixedCodebook(codebook, scenario);
  }

  /** F[l][n] = 1 where user n occupies resource element l. */
  factorGraph(): number[][] {
    return factorGraph(this.values);
  }

  encode(traffic: TrafficSample): ComplexTensor {
    return this.book.encode(traffic);
  }

  sideInformation(): SideInformation {
    return this.book.sideInformation();
  }

  dispose(): void {
    this.book.dispose();
  }
}

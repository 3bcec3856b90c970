import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  deviceBits,
  FILE_PATH_KEYWORD,
  numSequences,
  QPSK_POINTS,
  qpskSymbols,
  readTransmitFile,
  TOKENS,
  type ComplexTensor,
  type Encoder,
  type ParamProblem,
  type Scenario,
  type SideInformation,
  type TrafficSample,
  type TransmitObject,
} from '@gfra/core';
import {
  musa3Level,
  musaGreedyCodes,
  normalise,
  quantizeSignatures,
  signatureDiagnostics,
  wbeChirp,
  wfpSignatures,
  type SignatureSet,
} from './signature-sets';

const source = <S extends string>(name: S) => Type.Literal(name, { description: 'signature family' });

export const SignatureSource = Type.Union(
  [
    Type.Object(
      { source: source('wbe-chirp') },
      { additionalProperties: false, description: 'chirp-modulated harmonic frame s_n(k) = L^-1/2 exp(jπk²/N) exp(j2πkn/N) (a WBE tight frame)' },
    ),
    Type.Object(
      {
        source: source('musa-3level'),
        seed: Type.Optional(
          Type.Integer({ minimum: 0, description: 'seed of the local search; omitted or 0 with N = 6, L = 4 uses the shipped set (CCw 0.0361)' }),
        ),
      },
      { additionalProperties: false, description: '3-level MUSA-like sequences (Re, Im in {-1, 0, 1}, first entry 1) from a seeded local search' },
    ),
    Type.Object(
      { source: source('musa-greedy') },
      {
        additionalProperties: false,
        description:
          'greedy 3-ary MUSA codes (chips a + jb, a, b in {-1, 0, 1}, no zero chip; lexicographic candidates, each next one minimising the max normalised |c_i^H c_j|), the MUSA-SIC baseline of Ma et al.',
      },
    ),
    Type.Object(
      {
        source: source('wbe-chirp-quantized'),
        alphabetHalfWidth: Type.Integer({ minimum: 1, default: 2, description: 'Q: Re and Im of every entry in {-Q, ..., Q}' }),
      },
      { additionalProperties: false, description: 'chirp WBE projected onto the integer grid {-Q..Q} + j{-Q..Q}' },
    ),
    Type.Object(
      {
        source: source('wfp'),
        activationProbabilities: Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 1 }), {
          minItems: 1,
          description: 'p_n of every device (N values), the weights of the frame potential',
        }),
        alphabetHalfWidth: Type.Optional(Type.Integer({ minimum: 1, description: 'quantize the result onto {-Q..Q} + j{-Q..Q} (omitted: unquantized)' })),
        seed: Type.Integer({ minimum: 0, default: 0, description: 'seed of the Gaussian initialisation' }),
        steps: Type.Integer({ minimum: 1, default: 4000, description: 'projected-gradient steps' }),
        stepSize: Type.Number({ exclusiveMinimum: 0, default: 0.02, description: 'step size μ' }),
      },
      { additionalProperties: false, description: 'minimiser of the activity-weighted frame potential Σ_{i≠j} p_i p_j |s̄_i^H s̄_j|² (not in the paper; a model-based sanity baseline)' },
    ),
    Type.Object(
      {
        source: source('file'),
        path: Type.String({
          minLength: 1,
          [FILE_PATH_KEYWORD]: true,
          description: 'gfra-transmit/1 JSON of kind "signatures", shape [L, N] (column n = device n; e.g. `gfra export` of qnn-signatures), relative to the spec',
        }),
      },
      { additionalProperties: false, description: 'signatures read from a file; every column is normalised to unit norm' },
    ),
  ],
  { default: { source: 'wbe-chirp' }, description: 'where the N spreading signatures come from' },
);
export type SignatureSource = Static<typeof SignatureSource>;

export const QpskSpreadingParams = Type.Object({ signatures: SignatureSource }, { additionalProperties: false });
export type QpskSpreadingParams = Static<typeof QpskSpreadingParams>;

/** The problem of a scenario whose bitsPerDevice is not 2 (QPSK), or none. */
export function qpskScenarioProblems(plugin: string, s: Scenario): ParamProblem[] {
  if (s.bitsPerDevice === 2) return [];
  return [
    {
      path: '',
      message: `${plugin} sends one QPSK symbol (2 bits) per active device, but the scenario has bitsPerDevice = ${s.bitsPerDevice}`,
      hint: 'Set "scenario": { "bitsPerDevice": 2 }',
    },
  ];
}

/**
 * The scenario problems of `qpsk-spreading`: a single bitsPerDevice must be 2 (QPSK, as
 * {@link qpskScenarioProblems}); a list (`deviceBits`) may mix 1-bit (BPSK) and 2-bit (QPSK) devices.
 */
export function spreadingScenarioProblems(plugin: string, s: Scenario): ParamProblem[] {
  if (s.deviceBits === undefined) return qpskScenarioProblems(plugin, s);
  const bad = s.deviceBits.map((j, n) => [j, n]).filter(([j]) => j !== 1 && j !== 2);
  if (bad.length === 0) return [];
  return [
    {
      path: '',
      message: `${plugin} sends one BPSK (1 bit) or QPSK (2 bits) symbol per active device, but scenario.bitsPerDevice gives ${bad.map(([j, n]) => `device ${n} ${j} bits`).join(', ')}`,
      hint: 'Give every device 1 or 2 bits in scenario.bitsPerDevice',
    },
  ];
}

/**
 * Every device's symbol points [N][Q] as [re, im], Q = 2^J (J = max J_n), indexed by message: QPSK
 * (core qpsk.ts) for J_n = 2, BPSK (message 0 -> +1, 1 -> -1) for J_n = 1, zeros for the messages
 * q >= Q_n a device does not have.
 */
export function devicePoints(s: Scenario): [number, number][][] {
  const Q = numSequences(s);
  const qpsk = QPSK_POINTS.map(([re, im]): [number, number] => [re, im]);
  const bpsk: [number, number][] = [[1, 0], [-1, 0]];
  return deviceBits(s).map((j, n) => {
    if (j !== 1 && j !== 2) throw new Error(`device ${n} has ${j} bits: only BPSK (1 bit) and QPSK (2 bits) devices are supported`);
    const own = j === 1 ? bpsk : qpsk;
    return Array.from({ length: Q }, (_, q) => (q < own.length ? own[q] : [0, 0]));
  });
}

/** {@link devicePoints} as a flat [N * Q] complex tensor, entry n*Q + q = point q of device n. */
export function devicePointsTensor(s: Scenario): ComplexTensor {
  const pts = devicePoints(s).flat();
  return { re: tf.tensor1d(pts.map((p) => p[0]), 'float32'), im: tf.tensor1d(pts.map((p) => p[1]), 'float32') };
}

/**
 * tx[B, N, L] complex, tx[b, n, :] = a[b, n] x_n(m[b, n]) s̄_n with device n's own points
 * (`points` [N * Q] flat, entry n*Q + q, from {@link devicePointsTensor}). Not tidied.
 */
export function spreadPerDevice(unit: ComplexTensor, points: ComplexTensor, traffic: TrafficSample): ComplexTensor {
  const [N] = unit.re.shape;
  const Q = points.re.shape[0] / N;
  const index = tf.add(tf.cast(traffic.message, 'int32'), tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(Q, 'int32'))); // [B, N]
  const x = cx.scale({ re: tf.gather(points.re, index), im: tf.gather(points.im, index) }, traffic.activity); // [B, N]
  return cx.mul(cx.expandDims(x, 2), cx.expandDims(unit, 0));
}

/**
 * {@link spreadingSideInformation} with per-device points: `codebook` [L, N*Q], column n*Q + q =
 * s̄_n x_n(q) (zeros for q >= Q_n), and `signatures` [L, N]. Not tidied.
 */
export function perDeviceSideInformation(unit: ComplexTensor, points: ComplexTensor, scenario: Scenario): { signatures: ComplexTensor; codebook: ComplexTensor } {
  const { numDevices: N, sequenceLength: L } = scenario;
  const Q = numSequences(scenario);
  const words = cx.mul(cx.reshape(unit, [N, 1, L]), cx.reshape(points, [N, Q, 1])); // [N, Q, L]
  return { signatures: cx.transpose(unit), codebook: cx.transpose(cx.reshape(words, [N * Q, L])) };
}

/** Problems of a transmit object as the signatures [L, N] of scenario `s` (empty when it fits). */
export function signatureFileProblems(obj: TransmitObject, s: Scenario): string[] {
  if (obj.kind !== 'signatures') return [`holds a ${obj.kind}, not signatures (kind "signatures", shape [L, N])`];
  const want = [s.sequenceLength, s.numDevices];
  if (obj.shape.length !== 2 || obj.shape[0] !== want[0] || obj.shape[1] !== want[1]) {
    return [`has shape [${obj.shape.join(', ')}], but the scenario needs [L, N] = [${want.join(', ')}] (sequenceLength ${s.sequenceLength}, numDevices ${s.numDevices}); use the scenario it was trained for`];
  }
  const [L, N] = want;
  const zero: number[] = [];
  for (let n = 0; n < N; n++) {
    let e = 0;
    for (let k = 0; k < L; k++) e += obj.re[k * N + n] ** 2 + obj.im[k * N + n] ** 2;
    if (!(e > 0)) zero.push(n);
  }
  return zero.length > 0 ? [`has an all-zero signature for device${zero.length > 1 ? 's' : ''} ${zero.join(', ')} (column${zero.length > 1 ? 's' : ''} of the [L, N] array), which cannot be normalised`] : [];
}

/** A transmit object [L, N] (row-major) as a host set with rows = devices. */
function transmitToSet(obj: TransmitObject): SignatureSet {
  const [L, N] = obj.shape;
  const rows = (part: readonly number[]) => Array.from({ length: N }, (_, n) => Array.from({ length: L }, (_, k) => part[k * N + n]));
  return { re: rows(obj.re), im: rows(obj.im) };
}

/** The unnormalised host signature set (rows = devices) that `params` selects for scenario `s`. */
export function buildSignatureSet(params: SignatureSource, s: Scenario): SignatureSet {
  const { numDevices: N, sequenceLength: L } = s;
  switch (params.source) {
    case 'wbe-chirp':
      return wbeChirp(N, L);
    case 'musa-3level':
      return musa3Level(N, L, params.seed ?? 0);
    case 'musa-greedy':
      return musaGreedyCodes(N, L);
    case 'wbe-chirp-quantized':
      return quantizeSignatures(wbeChirp(N, L), params.alphabetHalfWidth).set;
    case 'wfp': {
      if (params.activationProbabilities.length !== N) {
        throw new Error(`qpsk-spreading: signatures.activationProbabilities has ${params.activationProbabilities.length} values but the scenario has numDevices = ${N}`);
      }
      const set = wfpSignatures(params.activationProbabilities, L, params.seed, { steps: params.steps, mu: params.stepSize });
      return params.alphabetHalfWidth === undefined ? set : quantizeSignatures(set, params.alphabetHalfWidth).set;
    }
    case 'file': {
      const obj = readTransmitFile(params.path);
      const problems = signatureFileProblems(obj, s);
      if (problems.length > 0) throw new Error(`${params.path} ${problems.join('; ')}`);
      return transmitToSet(obj);
    }
  }
}

/** Host rows (devices) as an [N, L] complex tensor. */
export function signatureTensor(set: SignatureSet): ComplexTensor {
  const N = set.re.length;
  const L = set.re[0]?.length ?? 0;
  return { re: tf.tensor2d(set.re.flat(), [N, L], 'float32'), im: tf.tensor2d(set.im.flat(), [N, L], 'float32') };
}

/**
 * tx[B, N, L] complex, tx[b, n, :] = a[b, n] q(m[b, n]) s̄_n (exactly 0 for an inactive device),
 * q the Gray QPSK map (core `qpskSymbols`). Differentiable in `unit`. Not tidied: call inside cx.tidy.
 * @param unit [N, L] complex, row n = unit-norm signature s̄_n
 */
export function spreadQpsk(unit: ComplexTensor, traffic: TrafficSample): ComplexTensor {
  const x = cx.scale(qpskSymbols(traffic.message), traffic.activity); // [B, N]
  return cx.mul(cx.expandDims(x, 2), cx.expandDims(unit, 0));
}

/**
 * The side information of a spreading encoder: `signatures` [L, N] (column n = s̄_n) and
 * `codebook` [L, N*Q], column n*Q + q = s̄_n q(q), Q = 2^J (4 for QPSK). Not tidied.
 * @param unit [N, L] complex, row n = s̄_n
 */
export function spreadingSideInformation(unit: ComplexTensor, scenario: Scenario): { signatures: ComplexTensor; codebook: ComplexTensor } {
  const { numDevices: N, sequenceLength: L } = scenario;
  const Q = numSequences(scenario);
  const points = qpskSymbols(tf.range(0, Q, 1, 'int32')); // [Q]
  const words = cx.mul(cx.reshape(unit, [N, 1, L]), cx.reshape(points, [1, Q, 1])); // [N, Q, L]
  return { signatures: cx.transpose(unit), codebook: cx.transpose(cx.reshape(words, [N * Q, L])) };
}

/** Activation probabilities from the traffic's side information ([N]), or all ones. */
export function activationWeights(side: SideInformation, N: number): number[] {
  const p = side.activityProbability;
  return p === undefined ? new Array<number>(N).fill(1) : Array.from(p.dataSync());
}

/**
 * Code-domain NOMA spreading: every active device sends one unit-energy QPSK symbol spread by its
 * own unit-norm signature, z_n = s̄_n x_n with x_n = a_n q(m_n), over L resource elements; the
 * receiver knows the signatures. The signature families are the baselines of H. Yu, Z. Fei,
 * Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning
 * Approach": chirp-based WBE sequences (Sec. II, eq. (1) with equality), MUSA sequences, quantized
 * WBE (Table III), plus signatures read from a file (e.g. the integer signatures learned by
 * `qnn-signatures`) and an activity-weighted frame-potential baseline.
 *
 * Heterogeneous rates (`scenario.bitsPerDevice` a list, J_n in {1, 2}): a 1-bit device sends
 * BPSK, x_n = a_n (1 - 2 m_n) (message 0 -> +1, 1 -> -1, real), a 2-bit device QPSK as above;
 * with the `musa-greedy` codes this is the MUSA transmitter of the MUSA-SIC baseline of Z. Ma,
 * W. Wu, M. Jian, F. Gao, X. Shen, "Joint Constellation Design and Multiuser Detection for
 * Grant-Free NOMA" (BPSK for low-rate users, QPSK for high-rate users, complex spreading codes
 * from the 3-ary set {1, 0, -1}; x_n = c_n d_n). Both alphabets have unit energy, so every
 * active device sends unit energy (Ma et al.'s E||x_n||^2 = K with ||c_n||^2 = K, scaled by 1/K).
 *
 * Symbols: N numDevices, L sequenceLength (the paper's H), J = 2 bitsPerDevice (max J_n), Q = 2^J = 4.
 *
 * @output tx         [B, N, L] complex: a_n x_n(m_n) s̄_n, x_n = q(m_n) (QPSK) or 1 - 2 m_n (BPSK)
 * @output signatures [L, N] complex, column n = s̄_n
 * @output codebook   [L, N*Q] complex, column n*Q + q = s̄_n x_n(q) (zero for q >= Q_n: a 1-bit
 *                    device has columns n*Q, n*Q + 1 = ±s̄_n and zeros in n*Q + 2, n*Q + 3)
 * @remarks Deviations from the paper:
 *   - eq. (4) divides by ||s_n x_n||² (a typo: the result is not unit norm, and is undefined for
 *     x_n = 0); gfra sends z_n = x_n s_n/||s_n||, unit energy for an active device, 0 otherwise;
 *   - WBE: a chirp-modulated harmonic frame instead of the (unstated) TR 38.812 A.4.2 procedure;
 *   - MUSA: the paper's set is not listed; a seeded search (and a shipped set for N = 6, L = 4);
 *   - quantized WBE: gfra's quantizer (scale √L c, c in [0.5, 4] minimising the projection error);
 *   - the constructions draw from gfra's generator keyed by their own `seed`, not from the run's
 *     random streams, so the signatures do not change with the spec's seed;
 *   - MUSA-SIC (Ma et al.): the codes' selection (no zero chip, lexicographic greedy
 *     max-correlation) is gfra's deterministic resolution of "3-ary complex spreading codes";
 *     device n takes the n-th code chosen (the low-rate devices the first ones when listed first).
 */
@injectable()
export class QpskSpreadingEncoder implements Encoder {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'qpsk-spreading',
    summary: 'QPSK (or per-device BPSK/QPSK) symbol spread by a fixed unit-norm signature per device (WBE chirp, MUSA, greedy 3-ary MUSA, quantized WBE, weighted frame potential, or a file)',
    reference:
      'H. Yu, Z. Fei, Z. Zheng, N. Ye, "Finite-Alphabet Signature Design for Grant-Free NOMA: A Quantized Deep Learning Approach", eqs. (1), (3)-(5), Table III (MUSA, WBE, quantized WBE baselines)',
    params: QpskSpreadingParams,
    provides: () => ['codebook', 'signatures'],
    perDeviceBits: true,
    check: (p: QpskSpreadingParams, s: Scenario): ParamProblem[] => {
      const problems = spreadingScenarioProblems('qpsk-spreading', s);
      const src = p.signatures;
      if (src.source === 'wfp' && src.activationProbabilities.length !== s.numDevices) {
        problems.push({
          path: 'signatures.activationProbabilities',
          message: `has ${src.activationProbabilities.length} values but the scenario has numDevices = ${s.numDevices}`,
          hint: 'Give one probability per device (the traffic\'s activationProbabilities)',
        });
      }
      if (src.source === 'file') {
        try {
          for (const message of signatureFileProblems(readTransmitFile(src.path), s)) {
            problems.push({ path: 'signatures.path', message: `${path.basename(src.path)} ${message}` });
          }
        } catch (err) {
          problems.push({ path: 'signatures.path', message: (err as Error).message, hint: 'Write one with `gfra export RUN --candidate NAME --out FILE.json` from a qnn-signatures candidate' });
        }
      }
      return problems;
    },
    notes: [
      'Needs bitsPerDevice = 2 (QPSK), or a list of 1 (BPSK, message 0 -> +1) and 2 (QPSK) bits per device. musa-greedy for N = 6, L = 4: max |c_ij| 0.5.',
      'Sets for N = 6, L = 4 with p = [0.8 x3, 0.4 x3]: CCw (eq. (29), squared, i ≠ j) wbe-chirp 0.0367, musa-3level 0.0361, wbe-chirp-quantized 0.0375 (c = 1.8), wfp 0.0280.',
      'Diagnostics (with the traffic\'s activity probabilities): ccw, cc-max (collapse flag), cc-frequent / cc-other (mean |c_ij| among the most active devices / over the other pairs).',
    ],
  });

  /** Unit-norm signatures, rows = devices (host copy for diagnostics). */
  readonly signatureSet: SignatureSet;
  private readonly unit: ComplexTensor;
  /** Per-device points [N * Q] (only with scenario.deviceBits; otherwise the QPSK path of spreadQpsk). */
  private readonly points: ComplexTensor | undefined;
  private readonly side: { signatures: ComplexTensor; codebook: ComplexTensor };

  constructor(
    @inject(TOKENS.params) params: QpskSpreadingParams,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {
    const problems = spreadingScenarioProblems('qpsk-spreading', scenario);
    if (problems.length > 0) throw new Error(problems[0].message);
    const raw = buildSignatureSet(params.signatures, scenario);
    this.signatureSet = normalise(raw);
    this.unit = signatureTensor(this.signatureSet);
    const points = scenario.deviceBits === undefined ? undefined : devicePointsTensor(scenario);
    this.points = points;
    this.side = cx.tidy(() => (points === undefined ? spreadingSideInformation(this.unit, scenario) : perDeviceSideInformation(this.unit, points, scenario)));
  }

  encode(traffic: TrafficSample): ComplexTensor {
    const points = this.points;
    return cx.tidy(() => (points === undefined ? spreadQpsk(this.unit, traffic) : spreadPerDevice(this.unit, points, traffic)));
  }

  sideInformation(): SideInformation {
    return { signatures: this.side.signatures, codebook: this.side.codebook };
  }

  diagnostics(side: SideInformation): Readonly<Record<string, number>> {
    return signatureDiagnostics(this.signatureSet, activationWeights(side, this.scenario.numDevices));
  }

  dispose(): void {
    cx.dispose(this.unit);
    if (this.points !== undefined) cx.dispose(this.points);
    cx.dispose(this.side.signatures);
    cx.dispose(this.side.codebook);
  }
}

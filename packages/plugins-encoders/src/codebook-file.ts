import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  constellationCodebook,
  CONSTELLATION_FORMAT,
  cx,
  definePlugin,
  deviceBits,
  FILE_PATH_KEYWORD,
  fromTransmitObject,
  numSequences,
  readConstellationFile,
  readTransmitFile,
  TOKENS,
  TRANSMIT_FORMAT,
  type ComplexTensor,
  type Encoder,
  type ParamProblem,
  type Scenario,
  type SideInformation,
  type TrafficSample,
  type TransmitObject,
} from '@gfra/core';
import { FixedCodebook } from './codebook-transmitter';

export const CodebookFileParams = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      [FILE_PATH_KEYWORD]: true,
      description:
        'JSON file, relative to the spec: a gfra-transmit/1 object of kind "codebook" or "pilots" (`gfra export`), or a constellation/v1 file (one codeword table per user, e.g. `gfra export --format constellation`)',
    }),
    normalize: Type.Boolean({ default: false, description: 'rescale every sequence to unit norm (otherwise used as stored; unused zero columns stay zero)' }),
  },
  { additionalProperties: false },
);
export type CodebookFileParams = Static<typeof CodebookFileParams>;

/** Problems of a transmit object as the codebook of scenario `s` (empty when it fits). */
export function codebookShapeProblems(obj: TransmitObject, s: Scenario): string[] {
  const Q = numSequences(s);
  const want = [s.sequenceLength, s.numDevices * Q];
  if (obj.kind !== 'codebook' && obj.kind !== 'pilots') return [`holds a ${obj.kind}, not a codebook or pilot matrix`];
  if (obj.kind === 'pilots' && Q !== 1) return [`holds pilots (one sequence per device) but the scenario has bitsPerDevice = ${s.bitsPerDevice} (Q = ${Q} sequences per device); export a codebook`];
  const ok = obj.shape.length === 2 && obj.shape[0] === want[0] && obj.shape[1] === want[1];
  return ok
    ? []
    : [
        `has shape [${obj.shape.join(', ')}], but the scenario needs [L, N*Q] = [${want.join(', ')}] (sequenceLength ${s.sequenceLength}, numDevices ${s.numDevices}, Q ${Q}); use the scenario it was trained for`,
      ];
}

/**
 * The codebook file as a transmit object of kind "codebook" [L, N*Q]: a transmit object as stored,
 * or a constellation/v1 file converted (its K, user count and bits checked against the scenario).
 * Throws an Error naming the file and what does not fit.
 */
export function readCodebookTransmit(file: string, s: Scenario): TransmitObject {
  let format: unknown;
  try {
    format = (JSON.parse(fs.readFileSync(file, 'utf8')) as { format?: unknown }).format;
  } catch {
    format = undefined; // the readers below report the missing file or the bad JSON
  }
  if (format !== CONSTELLATION_FORMAT) return readTransmitFile(file);
  const c = readConstellationFile(file);
  const bits = deviceBits(s);
  const problems: string[] = [];
  if (c.K !== s.sequenceLength) problems.push(`has K = ${c.K} resource elements, but the scenario has sequenceLength ${s.sequenceLength}`);
  if (c.users.length !== s.numDevices) problems.push(`has ${c.users.length} users, but the scenario has numDevices ${s.numDevices}`);
  else if (c.users.some((u, n) => u.bits !== bits[n])) problems.push(`has bits per user [${c.users.map((u) => u.bits).join(', ')}], but the scenario has bitsPerDevice [${bits.join(', ')}]`);
  if (problems.length > 0) throw new Error(`${path.basename(file)} ${problems.join('; ')}`);
  const book = constellationCodebook(c);
  return { format: TRANSMIT_FORMAT, kind: 'codebook', shape: book.shape, re: book.re, im: book.im, provenance: { constellation: { source: c.source, ...(c.training !== undefined ? { training: c.training } : {}) }, ...(c.provenance ?? {}) } };
}

/**
 * A codebook (pilot matrix) read from a JSON transmit object, e.g. pilots learned by one spec
 * (`gfra export`) and evaluated with another receiver in another spec. An active device sends the
 * sequence indexed by its message, as with `gaussian-pilots`; the receiver knows the codebook.
 *
 * The file is `{ "format": "gfra-transmit/1", "kind": "codebook" | "pilots", "shape": [L, N*Q],
 * "re": [...], "im": [...], "provenance": {...} }` (row-major values), or a `constellation/v1`
 * file (one table of 2^{bits_n} codewords of length K per user; see core's constellation.ts),
 * which is how a learned multi-rate constellation (Mul-VAE), an SCMA table or a spreading code
 * times BPSK / QPSK is loaded; its shape (or K, users and bits) must match the scenario (checked
 * at validation). With bits per device, a user's columns beyond its own 2^{bits_n} messages are
 * zero and never sent.
 *
 * @output tx       [B, N, L] complex: a_n s_n^{m_n}
 * @output codebook [L, N*Q] complex, column n*Q + q = sequence q of device n
 */
@injectable()
export class CodebookFileEncoder implements Encoder {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'codebook-file',
    summary: 'Codebook / pilot matrix / multi-user constellation loaded from a JSON file (e.g. learned pilots or constellations written by `gfra export`)',
    reference: 'gfra transmit-object format (packages/core/src/training/transmit.ts)',
    params: CodebookFileParams,
    provides: () => ['codebook'],
    perDeviceBits: true,
    check: (p: CodebookFileParams, s: Scenario): ParamProblem[] => {
      try {
        const problems = codebookShapeProblems(readCodebookTransmit(p.path, s), s);
        return problems.map((message) => ({ path: 'path', message: `${path.basename(p.path)} ${message}` }));
      } catch (err) {
        return [{ path: 'path', message: (err as Error).message, hint: 'Write one with `gfra export RUN --candidate NAME --out FILE.json`' }];
      }
    },
  });

  private readonly book: FixedCodebook;
  /** Where the codebook came from, as recorded in the file. */
  readonly provenance: Readonly<Record<string, unknown>> | undefined;

  constructor(
    @inject(TOKENS.params) params: CodebookFileParams,
    @inject(TOKENS.scenario) scenario: Scenario,
  ) {
    const obj = readCodebookTransmit(params.path, scenario);
    const problems = codebookShapeProblems(obj, scenario);
    if (problems.length > 0) throw new Error(`${params.path} ${problems.join('; ')}`);
    this.provenance = obj.provenance;
    const codebook = cx.tidy(() => {
      const s = fromTransmitObject(obj);
      if (!params.normalize) return s;
      const energy = tf.sum(cx.abs2(s), 0, true);
      return cx.scale(s, tf.where(tf.greater(energy, 0), tf.rsqrt(tf.maximum(energy, 1e-30)), tf.zerosLike(energy)));
    });
    this.book = new FixedCodebook(codebook, scenario);
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

import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import {
  cx,
  definePlugin,
  FILE_PATH_KEYWORD,
  fromTransmitObject,
  numSequences,
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
import { FixedCodebook } from './codebook-transmitter';

export const CodebookFileParams = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      [FILE_PATH_KEYWORD]: true,
      description: 'JSON file written by `gfra export` (kind "codebook" or "pilots"), relative to the spec',
    }),
    normalize: Type.Boolean({ default: false, description: 'rescale every sequence to unit norm (otherwise used as stored)' }),
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
 * A codebook (pilot matrix) read from a JSON transmit object, e.g. pilots learned by one spec
 * (`gfra export`) and evaluated with another receiver in another spec. An active device sends the
 * sequence indexed by its message, as with `gaussian-pilots`; the receiver knows the codebook.
 *
 * The file is `{ "format": "gfra-transmit/1", "kind": "codebook" | "pilots", "shape": [L, N*Q],
 * "re": [...], "im": [...], "provenance": {...} }` (row-major values); its shape must match the
 * scenario (checked at validation).
 *
 * @output tx       [B, N, L] complex: a_n s_n^{m_n}
 * @output codebook [L, N*Q] complex, column n*Q + q = sequence q of device n
 */
@injectable()
export class CodebookFileEncoder implements Encoder {
  static readonly plugin = definePlugin({
    kind: 'encoder',
    name: 'codebook-file',
    summary: 'Codebook / pilot matrix loaded from a JSON file (e.g. learned pilots written by `gfra export`)',
    reference: 'gfra transmit-object format (packages/core/src/training/transmit.ts)',
    params: CodebookFileParams,
    provides: () => ['codebook'],
    check: (p: CodebookFileParams, s: Scenario): ParamProblem[] => {
      try {
        const problems = codebookShapeProblems(readTransmitFile(p.path), s);
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
    const obj = readTransmitFile(params.path);
    const problems = codebookShapeProblems(obj, scenario);
    if (problems.length > 0) throw new Error(`${params.path} ${problems.join('; ')}`);
    this.provenance = obj.provenance;
    const codebook = cx.tidy(() => {
      const s = fromTransmitObject(obj);
      return params.normalize ? cx.scale(s, tf.rsqrt(tf.sum(cx.abs2(s), 0, true))) : s;
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

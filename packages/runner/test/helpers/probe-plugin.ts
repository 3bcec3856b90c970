/**
 * The source of a test detector plugin, written beside a spec as `probe.ts` by tests that run the
 * CLI in child processes: energy scores, no active devices. It throws in `detect` when
 * scenario.numAntennas equals `failAt`, in its constructor with `failOnConstruction`, and writes
 * `<marker>-<numAntennas>` (or `<marker>-<tag>-<numAntennas>` with a `tag`) on its first batch,
 * so that a test knows the job is running. With `holdFile`, a job (every job, or the one whose
 * numAntennas is `holdAt`) stops before its batch number `holdAfter` (counted from 0), writes
 * `<holdFile>-waiting-<numAntennas>` and waits until `holdFile` exists: a test can then kill the
 * run at a known place, however fast the machine.
 */
export const PROBE_PLUGIN = `
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { Type } from '@sinclair/typebox';
import { inject, injectable } from 'tsyringe';
import { definePlugin, TOKENS, type Detector, type Estimate, type Observation, type Scenario } from '@gfra/core';

interface Params { failAt?: number; failOnConstruction?: boolean; marker?: string; tag?: string; holdFile?: string; holdAt?: number; holdAfter?: number }

@injectable()
export class ProbeDetector implements Detector {
  static readonly plugin = definePlugin({
    kind: 'detector',
    name: 'test-probe',
    summary: 'Energy scores, no device active; fails on request, marks its first batch (a test plugin)',
    params: Type.Object(
      {
        failAt: Type.Optional(Type.Integer()),
        failOnConstruction: Type.Optional(Type.Boolean()),
        marker: Type.Optional(Type.String()),
        tag: Type.Optional(Type.String()),
        holdFile: Type.Optional(Type.String()),
        holdAt: Type.Optional(Type.Integer()),
        holdAfter: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      { additionalProperties: false },
    ),
    provides: () => ['activityScore', 'activity'],
  });
  private marked = false;
  private batches = 0;
  constructor(
    @inject(TOKENS.params) private readonly params: Params,
    @inject(TOKENS.scenario) private readonly scenario: Scenario,
  ) {
    if (params.failOnConstruction === true) throw new Error('cannot be built (a test plugin)');
  }
  detect(obs: Observation): Estimate {
    const { holdFile, holdAt, holdAfter = 0 } = this.params;
    if (holdFile !== undefined && (holdAt === undefined || holdAt === this.scenario.numAntennas) && this.batches++ === holdAfter) {
      const pause = new Int32Array(new SharedArrayBuffer(4));
      if (!fs.existsSync(holdFile)) fs.writeFileSync(\`\${holdFile}-waiting-\${this.scenario.numAntennas}\`, 'waiting');
      while (!fs.existsSync(holdFile)) Atomics.wait(pause, 0, 0, 10);
    }
    if (this.params.marker !== undefined && !this.marked) {
      this.marked = true;
      const tag = this.params.tag === undefined ? '' : \`\${this.params.tag}-\`;
      fs.writeFileSync(\`\${this.params.marker}-\${tag}\${this.scenario.numAntennas}\`, 'running');
    }
    if (this.scenario.numAntennas === this.params.failAt) throw new Error('Cholesky: the matrix is not positive definite');
    return tf.tidy(() => {
      const N = this.scenario.numDevices;
      const energy = tf.sum(tf.add(tf.square(obs.y.re), tf.square(obs.y.im)), [1, 2]).reshape([-1, 1]);
      const score = tf.tile(energy, [1, N]) as tf.Tensor2D;
      return { activityScore: score, activity: tf.zerosLike(score) as tf.Tensor2D };
    });
  }
}

export const plugins = [ProbeDetector];
`;

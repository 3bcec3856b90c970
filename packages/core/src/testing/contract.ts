/**
 * `describePluginContract(cls)`: the checks every plugin must pass, run by each plugin package's
 * contract test over its `index.ts` list.
 *
 * - the descriptor is well formed and its default parameters validate against its schema;
 * - the plugin is created through a registry and a child container;
 * - a tiny forward pass produces the declared shapes (synthetic inputs for the kind);
 * - nothing leaks (tf.memory().numTensors unchanged once outputs are freed);
 * - the same parameters and random key give identical outputs.
 */
import * as tf from '@tensorflow/tfjs';
import { Value } from '@sinclair/typebox/value';
import { expect } from 'chai';
import { RandomStreams, type TrialRange } from '../rng';
import { Registry } from '../registry';
import { applyDefaults } from '../schema-defaults';
import { numSequences, type Scenario } from '../scenario';
import {
  ESTIMATE_FIELDS,
  KNOWLEDGE,
  TOKENS,
  type Channel,
  type Detector,
  type Encoder,
  type Metric,
  type Observation,
  type PluginClass,
  type PluginInstance,
  type TrafficModel,
} from '../plugin';
import { container as rootContainer } from 'tsyringe';
import { checkVariableNames, isTrainable, type Trainable } from '../training/trainable';

export { maxRelativeError } from './tensors';

export interface ContractOptions {
  /** Scenario of the tiny forward pass (default N=6, M=2, L=4, J=1). */
  readonly scenario?: Scenario;
  /** Parameters to use instead of the defaults (merged over them). */
  readonly params?: Record<string, unknown>;
  /**
   * Detectors: side information to use instead of the synthetic defaults (e.g. a per-resource
   * `channel` [B, N, L, M] for coherent NOMA receivers). Called inside tf.tidy.
   */
  readonly observation?: (scenario: Scenario, batch: number) => Partial<Observation>;
}

const TRIALS: TrialRange = { first: 5, count: 3 };

function tensorsOf(x: unknown): tf.Tensor[] {
  if (x instanceof tf.Tensor) return [x];
  if (Array.isArray(x)) return x.flatMap(tensorsOf);
  if (x !== null && typeof x === 'object') return Object.values(x).flatMap(tensorsOf);
  return [];
}

async function snapshot(x: unknown): Promise<number[][]> {
  return Promise.all(tensorsOf(x).map(async (t) => Array.from(await t.data())));
}

/** Synthetic inputs of the right shapes for a plugin of any kind. */
function forward(instance: PluginInstance, kind: string, s: Scenario, options: ContractOptions): unknown {
  const { numDevices: N, numAntennas: M, sequenceLength: L } = s;
  const Q = numSequences(s);
  const B = TRIALS.count;
  const rnd = new RandomStreams(['contract-inputs']);
  const activity = tf.tensor2d([...Array(B * N).keys()].map((i) => (i % 3 === 0 ? 1 : 0)), [B, N]);
  const message = tf.tensor2d([...Array(B * N).keys()].map((i) => i % Q), [B, N], 'int32');
  switch (kind) {
    case 'traffic': {
      const out = (instance as TrafficModel).sample(TRIALS);
      expect(out.activity.shape, 'traffic activity shape [B, N]').to.deep.equal([B, N]);
      expect(out.message.shape, 'traffic message shape [B, N]').to.deep.equal([B, N]);
      expect(out.message.dtype, 'traffic message dtype').to.equal('int32');
      return out;
    }
    case 'encoder': {
      const tx = (instance as Encoder).encode({ activity, message });
      expect(tx.re.shape, 'encoder tx shape [B, N, L]').to.deep.equal([B, N, L]);
      expect(tx.im.shape, 'encoder tx shape [B, N, L]').to.deep.equal([B, N, L]);
      return tx;
    }
    case 'channel': {
      const tx = rnd.complexNormal(TRIALS, 'tx', [N, L], 1 / L);
      const out = (instance as Channel).propagate(tx, TRIALS);
      expect(out.y.re.shape, 'channel y shape [B, L, M]').to.deep.equal([B, L, M]);
      expect(out.largeScaleFading.shape, 'channel largeScaleFading shape [B, N]').to.deep.equal([B, N]);
      expect(out.channel.re.shape[0], 'channel truth batch axis').to.equal(B);
      return out;
    }
    case 'detector': {
      const y = rnd.complexNormal(TRIALS, 'y', [L, M], 1);
      const codebook = rnd.complexNormalOnce('codebook', [L, N * Q], 1 / L);
      const est = (instance as Detector).detect({
        y,
        codebook,
        noiseVar: 1,
        largeScaleFading: tf.ones([B, N]) as tf.Tensor2D,
        activityProbability: tf.fill([N], 0.2) as tf.Tensor1D,
        channel: rnd.complexNormal(TRIALS, 'h', [N, M]),
        ...(options.observation?.(s, B) ?? {}),
      });
      for (const key of ['activityScore', 'activity', 'message'] as const) {
        if (est[key] !== undefined) expect(est[key]?.shape, `detector ${key} shape [B, N]`).to.deep.equal([B, N]);
      }
      if (est.channel !== undefined) expect(est.channel.re.shape, 'detector channel shape [B, N, M]').to.deep.equal([B, N, M]);
      return est;
    }
    case 'metric': {
      const channel = rnd.complexNormal(TRIALS, 'h', [N, M]);
      const out = (instance as Metric).measure(
        { activity, message, channel, largeScaleFading: tf.ones([B, N]) as tf.Tensor2D },
        {
          activity: tf.tensor2d([...Array(B * N).keys()].map((i) => (i % 2 === 0 ? 1 : 0)), [B, N]),
          message,
          activityScore: activity,
          channel,
          symbols: rnd.complexNormal(TRIALS, 'symbols', [N]),
        },
      );
      for (const [name, m] of Object.entries(out)) {
        for (const t of tensorsOf(m)) expect(t.shape, `metric ${name} per-trial shape [B]`).to.deep.equal([B]);
      }
      return out;
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

export function describePluginContract(cls: PluginClass, options: ContractOptions = {}): void {
  const info = cls.plugin;
  const scenario: Scenario = options.scenario ?? { numDevices: 6, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 1 };
  const params = applyDefaults(info.params, { ...(options.params ?? {}) }) as Record<string, unknown>;

  describe(`plugin contract: ${info.kind}:${info.name}`, () => {
    it('has a well-formed descriptor whose defaults validate', () => {
      expect(info.name).to.match(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(info.summary.length, 'summary').to.be.greaterThan(10);
      expect(info.params.type).to.equal('object');
      expect(info.params.additionalProperties, 'params schema must reject unknown properties').to.equal(false);
      const errors = [...Value.Errors(info.params, params)].map((e) => `${e.path}: ${e.message}`);
      expect(errors, 'default params must validate').to.deep.equal([]);
      const caps = [...(info.requires?.(params, scenario) ?? []), ...(info.provides?.(params, scenario) ?? [])];
      for (const c of caps) expect([...KNOWLEDGE, ...ESTIMATE_FIELDS] as string[], 'capability name').to.include(c);
      if (info.kind === 'metric') expect(info.statistics?.(params, scenario).length, 'statistics').to.be.greaterThan(0);
    });

    const make = (key: string) => {
      const registry = new Registry().register(cls);
      const parent = rootContainer.createChildContainer();
      parent.register(TOKENS.scenario, { useValue: scenario });
      return registry.create(info.kind, info.name, params, parent, new Map([[TOKENS.random, new RandomStreams([key])]])) as PluginInstance;
    };

    it('runs a tiny forward pass with the declared shapes, deterministically', async () => {
      const a = make('k');
      await a.prepare?.();
      const b = make('k');
      await b.prepare?.();
      const outA = tf.tidy(() => tensorsOf(forward(a, info.kind, scenario, options)));
      const outB = tf.tidy(() => tensorsOf(forward(b, info.kind, scenario, options)));
      expect(await snapshot(outB), 'same params and random key give the same outputs').to.deep.equal(await snapshot(outA));
      tf.dispose([...outA, ...outB]);
      a.dispose?.();
      b.dispose?.();
    });

    it('does not leak tensors (forward pass, then dispose)', async () => {
      const before = tf.memory().numTensors;
      const c = make('k');
      await c.prepare?.();
      tf.dispose(tf.tidy(() => tensorsOf(forward(c, info.kind, scenario, options)))); // warm-up: lazy state
      const warm = tf.memory().numTensors;
      tf.dispose(tf.tidy(() => tensorsOf(forward(c, info.kind, scenario, options))));
      expect(tf.memory().numTensors, 'tensors left behind by a forward pass').to.equal(warm);
      c.dispose?.();
      expect(tf.memory().numTensors, 'tensors left behind after dispose()').to.equal(before);
    });

    const training = info.training?.(params, scenario);
    if (training?.lossFromTruth === true) {
      it('is trainable: named variables (its loss uses the ground truth, not its outputs)', async () => {
        const before = tf.memory().numTensors;
        const c = make('k');
        await c.prepare?.();
        expect(isTrainable(c), 'a plugin that declares `training` must implement trainableVariables()').to.equal(true);
        const variables = (c as PluginInstance & Trainable).trainableVariables();
        expect(Object.keys(variables).length, 'trainable variables').to.be.greaterThan(0);
        checkVariableNames(`${info.kind}:${info.name}`, variables);
        expect(typeof (c as PluginInstance & Trainable).loss, 'lossFromTruth needs loss()').to.equal('function');
        c.dispose?.();
        expect(tf.memory().numTensors, 'tensors left behind after dispose()').to.equal(before);
      });
    } else if (training !== undefined) {
      it('is trainable: named variables that gradients of its outputs reach in training mode', async () => {
        const before = tf.memory().numTensors;
        const c = make('k');
        await c.prepare?.();
        expect(isTrainable(c), 'a plugin that declares `training` must implement trainableVariables()').to.equal(true);
        const t = c as PluginInstance & Trainable;
        const variables = t.trainableVariables();
        expect(Object.keys(variables).length, 'trainable variables').to.be.greaterThan(0);
        checkVariableNames(`${info.kind}:${info.name}`, variables);
        t.setTraining?.(true);
        const { value, grads } = tf.variableGrads(() => {
          const out = forward(c, info.kind, scenario, options);
          // hard decisions (activity, message) have no gradient: use the soft outputs
          const soft = info.kind === 'detector' ? ['activityScore', 'channel', 'bitLLR'].map((k) => (out as Record<string, unknown>)[k]) : out;
          const outputs = tensorsOf(soft).filter((x) => x.dtype === 'float32');
          return tf.addN(outputs.map((x) => tf.sum(x))) as tf.Scalar;
        }, Object.values(variables));
        const norms = Object.values(grads).map((g) => {
          if (g === null) return 0;
          const n = tf.norm(g);
          const v = n.dataSync()[0];
          n.dispose();
          return v;
        });
        expect(norms.some((n) => n > 0), 'some variable gets a non-zero gradient').to.equal(true);
        expect(norms.every((n) => Number.isFinite(n)), 'gradients are finite').to.equal(true);
        t.setTraining?.(false);
        tf.dispose([value, ...Object.values(grads).filter((g): g is tf.Tensor => g !== null)]);
        c.dispose?.();
        expect(tf.memory().numTensors, 'tensors left behind after training mode and dispose()').to.equal(before);
      });
    }
  });
}

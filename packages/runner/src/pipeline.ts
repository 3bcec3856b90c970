/**
 * One candidate at one sweep point, assembled from the registry: traffic -> encoder -> channel
 * -> detector -> metrics. Plugins are resolved through a child container per candidate that
 * holds the scenario; each plugin gets its own child with its validated params and its random
 * streams keyed by (seed, point, candidate, slot).
 */
import * as tf from '@tensorflow/tfjs';
import {
  cx,
  PipelineError,
  RandomStreams,
  TOKENS,
  type Capability,
  type Channel,
  type ChannelOutput,
  type Detector,
  type Encoder,
  type Estimate,
  type MeasuredStatistic,
  type Metric,
  type Observation,
  type PluginKind,
  type Registry,
  type SideInformation,
  type StatisticInfo,
  type TrafficModel,
  type TrialRange,
  type Truth,
} from '@gfra/core';
import type { DependencyContainer } from 'tsyringe';
import { SLOT_KINDS, type Slot, type SlotConfig } from './spec-schema';
import { canonicalJson, type Job } from './validate';

/** Per-trial values of every rate/mean statistic of a batch, as [B] tensors. */
export type BatchStatistics = Record<string, MeasuredStatistic>;

interface Stage<T> {
  readonly instance: T;
  readonly key: string;
  readonly path: string;
}

/** Run `fn`, re-throwing any error as a {@link PipelineError} naming the plugin and its spec path. */
function guarded<T>(stage: Stage<unknown>, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new PipelineError(stage.key, stage.path, `${what} failed: ${message}`, { cause: err });
  }
}

export class Pipeline {
  readonly statistics: readonly StatisticInfo[];
  private readonly traffic: Stage<TrafficModel>;
  private readonly encoder: Stage<Encoder>;
  private readonly channel: Stage<Channel>;
  private readonly detector: Stage<Detector>;
  private readonly metrics: readonly Stage<Metric>[];
  private readonly granted: ReadonlySet<Capability>;
  private sideInfo: SideInformation = {};

  constructor(
    private readonly registry: Registry,
    readonly job: Job,
    seed: number,
    parent: DependencyContainer,
  ) {
    const { config } = job;
    const crn = config.montecarlo.commonRandomNumbers;
    const container = parent.createChildContainer();
    container.register(TOKENS.scenario, { useValue: config.scenario });
    const root = new RandomStreams([seed, canonicalJson(job.point), crn ? '*' : job.candidate]);
    const make = <T>(slot: Slot | 'metric', kind: PluginKind, slotConfig: SlotConfig, path: string, index = 0): Stage<T> => {
      const key = `${kind}:${slotConfig.plugin}`;
      const streamKey = crn ? `${slot}:${canonicalJson(slotConfig)}` : `${slot}${slot === 'metric' ? index : ''}`;
      const values = new Map<symbol, unknown>([[TOKENS.random, root.child(streamKey)]]);
      const stage = { key, path, instance: undefined as unknown as T };
      const instance = guarded(stage, 'construction', () =>
        registry.create(kind, slotConfig.plugin, slotConfig.params, container, values),
      ) as unknown as T;
      return { ...stage, instance };
    };
    this.traffic = make('traffic', SLOT_KINDS.traffic, config.traffic, config.paths.traffic);
    this.encoder = make('encoder', SLOT_KINDS.encoder, config.encoder, config.paths.encoder);
    this.channel = make('channel', SLOT_KINDS.channel, config.channel, config.paths.channel);
    this.detector = make('detector', SLOT_KINDS.detector, config.detector, config.paths.detector);
    this.metrics = config.metrics.map((m, i) => make<Metric>('metric', 'metric', m, `metrics[${i}]`, i));
    this.statistics = config.metrics.flatMap((m) => registry.get('metric', m.plugin).plugin.statistics?.(m.params, config.scenario) ?? []);
    const provided = (['traffic', 'encoder', 'channel'] as const).flatMap(
      (slot) => registry.get(SLOT_KINDS[slot], config[slot].plugin).plugin.provides?.(config[slot].params, config.scenario) ?? [],
    );
    this.granted = new Set(provided);
  }

  /** Asynchronous set-up of every plugin, then the static side information. */
  async prepare(): Promise<void> {
    for (const stage of this.stages()) {
      try {
        await stage.instance.prepare?.();
      } catch (err) {
        throw new PipelineError(stage.key, stage.path, `prepare failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    this.sideInfo = {
      ...guarded(this.traffic, 'sideInformation', () => this.traffic.instance.sideInformation?.() ?? {}),
      ...guarded(this.encoder, 'sideInformation', () => this.encoder.instance.sideInformation?.() ?? {}),
    };
  }

  /**
   * Simulate one batch of trials and return the per-trial statistics ([B] tensors, owned by the
   * caller). Everything else is freed.
   */
  runBatch(trials: TrialRange): BatchStatistics {
    return cx.tidy(() => {
      const traffic = guarded(this.traffic, 'sample', () => this.traffic.instance.sample(trials));
      const tx = guarded(this.encoder, 'encode', () => this.encoder.instance.encode(traffic));
      const out = guarded(this.channel, 'propagate', () => this.channel.instance.propagate(tx, trials));
      const observation = this.observation(out);
      const estimate: Estimate = guarded(this.detector, 'detect', () => this.detector.instance.detect(observation));
      const truth: Truth = { ...traffic, channel: out.channel, largeScaleFading: out.largeScaleFading };
      const stats: BatchStatistics = {};
      for (const metric of this.metrics) {
        Object.assign(stats, guarded(metric, 'measure', () => metric.instance.measure(truth, estimate)));
      }
      return stats;
    });
  }

  /** The received signal plus exactly the side information the spec grants. */
  private observation(out: ChannelOutput): Observation {
    const g = this.granted;
    const s = this.sideInfo;
    return {
      y: out.y,
      codebook: g.has('codebook') ? s.codebook : undefined,
      activityProbability: g.has('activityProbability') ? s.activityProbability : undefined,
      noiseVar: g.has('noiseVariance') ? out.noiseVar : undefined,
      largeScaleFading: g.has('largeScaleFading') ? out.largeScaleFading : undefined,
      channel: g.has('channelState') ? out.channel : undefined,
    };
  }

  private stages(): Stage<{ prepare?(): Promise<void>; dispose?(): void }>[] {
    return [this.traffic, this.encoder, this.channel, this.detector, ...this.metrics];
  }

  dispose(): void {
    for (const stage of this.stages()) stage.instance.dispose?.();
  }
}

/**
 * Seeded randomness that does not depend on how trials are split into batches.
 *
 * Every draw is addressed by a key: the stream's key (the runner's plan sets it: spec seed, sweep
 * point, repetition, slot — and the candidate only with independent draws), then the component
 * (the plugin's draw name) and the trial index.
 * The key is hashed into the state of a small counter-free generator (sfc32) that produces the
 * draws of that one trial. In a named {@link TrialDomain} (training, validation) the domain name
 * joins the key, and during a pass over a fixed training set the draws of the domain's
 * `redrawnPerPass` components (the channel noise) are keyed by the pass too; see
 * {@link RandomStreams.generator} for the exact keys. A batch of trials [first, first + count)
 * fills its rows trial by trial, so the numbers of trial t are the same whatever the batch size,
 * the order in which batches run, or the executor that ran them.
 *
 * Draws are made on the host (JavaScript) and uploaded as one tensor per batch and component.
 * Complex Gaussian samples CN(0, v) have variance v/2 per real component.
 */
import * as tf from '@tensorflow/tfjs';
import type { ComplexTensor } from './complex';

/** A contiguous range of Monte Carlo trials. */
export interface TrialRange {
  /** Global index of the first trial (0-based). */
  readonly first: number;
  /** Number of trials: the batch size B. */
  readonly count: number;
}

const TWO_POW_32 = 4294967296;

// 32-bit finaliser of MurmurHash3: a bijection with good avalanche.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Fold a key part (string or integer) into a 32-bit hash state. */
function mixPart(h: number, part: string | number): number {
  if (typeof part === 'number') {
    if (!Number.isSafeInteger(part)) throw new Error(`random key part must be a safe integer, got ${part}`);
    const lo = part >>> 0;
    const hi = Math.floor(part / TWO_POW_32) >>> 0;
    h = fmix32(h ^ Math.imul(lo ^ 0x9e3779b9, 0xcc9e2d51));
    h = fmix32(h ^ Math.imul(hi ^ 0x7f4a7c15, 0x1b873593));
    return fmix32(h ^ 0x6e756d);
  }
  for (let i = 0; i < part.length; i++) h = fmix32(h ^ Math.imul(part.charCodeAt(i) + 0x100, 0xcc9e2d51));
  return fmix32(h ^ Math.imul(part.length, 0x27d4eb2f) ^ 0x737472);
}

/**
 * A small fast generator (sfc32, 128-bit state) for the draws of one key. Not cryptographic;
 * passes standard statistical batteries, which is what Monte Carlo needs.
 */
export class Generator {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  constructor(seedWords: readonly [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = seedWords.map((w) => w >>> 0) as [number, number, number, number];
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** The generator for a key (a list of strings and safe integers). */
  static fromKey(key: readonly (string | number)[]): Generator {
    let h = 0x243f6a88;
    for (const part of key) h = mixPart(h, part);
    return new Generator([fmix32(h ^ 0xa5a5a5a5), fmix32(h + 0x3c6ef372), fmix32(h ^ 0x510e527f), h | 1]);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal N(0, 1) (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Uniform integer in [0, n). */
  integer(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/**
 * One pass over a fixed training set: epoch `epoch` of training phase `phase` (both 0-based).
 * Phases are numbered in the order a training runs them (a single-phase training has phase 0).
 */
export interface DataPass {
  readonly phase: number;
  readonly epoch: number;
}

/**
 * Which per-trial draws a family of {@link RandomStreams} produces: the evaluation draws
 * (`current` undefined, the default) or those of a named domain such as `train` or `validation`.
 * A trainer shares one TrialDomain with every stream of a pipeline and switches it between its
 * training and validation sets; draws made once (pilot matrices, initial weights) do not depend
 * on it, so a model trained in one domain is evaluated with the same fixed draws.
 *
 * Passes. While `pass` is set (a trainer going over a fixed training set with fresh noise on
 * every epoch), the components named in `redrawnPerPass` are drawn anew for that pass: trial t
 * keeps its other draws (activity, messages, fading) in every epoch, and gets new values of
 * these, the same ones whenever the same (trial, pass) is drawn again. With `pass` undefined, or
 * for components not in `redrawnPerPass`, the draws are those of the domain alone.
 */
export class TrialDomain {
  /** The pass being drawn (set per batch by the trainer's problem; undefined: none). */
  pass: DataPass | undefined = undefined;

  /**
   * @param current        the domain name (undefined: evaluation)
   * @param redrawnPerPass components drawn anew on every {@link pass} (e.g. `['noise']`)
   */
  constructor(
    public current?: string,
    readonly redrawnPerPass: ReadonlySet<string> = new Set(),
  ) {}
}

/**
 * Random streams for one plugin of one candidate at one sweep point. Obtain children with
 * {@link RandomStreams.child}; draw per-trial tensors with the batch methods, and draws made once
 * (e.g. a pilot matrix known to the receiver) with the `once` methods.
 */
export class RandomStreams {
  /**
   * @param key    (seed, point, [repetition], [candidate with independent draws], slot, ...) of these streams
   * @param domain per-trial draws of a named domain (training, validation) instead of the
   *               evaluation ones; shared with every child
   */
  constructor(
    readonly key: readonly (string | number)[],
    readonly domain?: TrialDomain,
  ) {}

  /** Streams under a longer key, e.g. `streams.child('channel')`. */
  child(...parts: (string | number)[]): RandomStreams {
    return new RandomStreams([...this.key, ...parts], this.domain);
  }

  /**
   * The generator of one trial of one component, i.e. `Generator.fromKey` of
   * - `[...key, component, trial]` for evaluation draws (no domain, or `domain.current` undefined);
   * - `[...key, 'domain:<current>', component, trial]` in a named domain;
   * - `[...key, 'domain:<current>', component, trial, 'pass', phase, epoch]` in a named domain
   *   while `domain.pass` is set, for the components of `domain.redrawnPerPass` only.
   */
  generator(component: string, trial: number): Generator {
    const domain = this.domain;
    const name = domain?.current;
    if (domain === undefined || name === undefined) return Generator.fromKey([...this.key, component, trial]);
    const pass = domain.pass;
    if (pass !== undefined && domain.redrawnPerPass.has(component)) {
      return Generator.fromKey([...this.key, `domain:${name}`, component, trial, 'pass', pass.phase, pass.epoch]);
    }
    return Generator.fromKey([...this.key, `domain:${name}`, component, trial]);
  }

  /** The generator of a draw made once per run (not per trial). */
  onceGenerator(component: string): Generator {
    return Generator.fromKey([...this.key, component, 'once']);
  }

  /**
   * Fill a [count, ...shape] host array trial by trial with `draw(generator)` values.
   * Trial t always gets the same values, whatever batch it falls in.
   */
  fill(trials: TrialRange, component: string, shape: readonly number[], draw: (g: Generator) => number): Float32Array {
    const per = sizeOf(shape);
    const out = new Float32Array(trials.count * per);
    for (let b = 0; b < trials.count; b++) {
      const g = this.generator(component, trials.first + b);
      const base = b * per;
      for (let i = 0; i < per; i++) out[base + i] = draw(g);
    }
    return out;
  }

  /** [B, ...shape] float32, i.i.d. N(mean, std^2) per entry. */
  normal(trials: TrialRange, component: string, shape: readonly number[], std = 1, mean = 0): tf.Tensor {
    const data = this.fill(trials, component, shape, (g) => mean + std * g.normal());
    return tf.tensor(data, [trials.count, ...shape], 'float32');
  }

  /** [B, ...shape] float32, i.i.d. uniform on [low, high). */
  uniform(trials: TrialRange, component: string, shape: readonly number[], low = 0, high = 1): tf.Tensor {
    const data = this.fill(trials, component, shape, (g) => low + (high - low) * g.uniform());
    return tf.tensor(data, [trials.count, ...shape], 'float32');
  }

  /** [B, ...shape] complex, i.i.d. CN(0, variance): variance/2 per real component. */
  complexNormal(trials: TrialRange, component: string, shape: readonly number[], variance = 1): ComplexTensor {
    const per = sizeOf(shape);
    const std = Math.sqrt(variance / 2);
    const re = new Float32Array(trials.count * per);
    const im = new Float32Array(trials.count * per);
    for (let b = 0; b < trials.count; b++) {
      const g = this.generator(component, trials.first + b);
      const base = b * per;
      for (let i = 0; i < per; i++) {
        re[base + i] = std * g.normal();
        im[base + i] = std * g.normal();
      }
    }
    const full = [trials.count, ...shape];
    return { re: tf.tensor(re, full, 'float32'), im: tf.tensor(im, full, 'float32') };
  }

  /** A complex [shape] tensor drawn once (not per trial), i.i.d. CN(0, variance). */
  complexNormalOnce(component: string, shape: readonly number[], variance = 1): ComplexTensor {
    const g = this.onceGenerator(component);
    const n = sizeOf(shape);
    const std = Math.sqrt(variance / 2);
    const re = new Float32Array(n);
    const im = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      re[i] = std * g.normal();
      im[i] = std * g.normal();
    }
    return { re: tf.tensor(re, [...shape], 'float32'), im: tf.tensor(im, [...shape], 'float32') };
  }
}

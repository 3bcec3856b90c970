/**
 * Limits checked before anything runs, so that a spec that cannot work is refused with a message
 * naming the parameter instead of failing minutes later (or silently producing NaN):
 *
 * - nesting depth of the JSON text ({@link MAX_NESTING}), checked before parsing: the parsers
 *   and the validator recurse, and a deeply nested file would overflow their stack;
 * - finite numbers (a literal such as 1e309 parses as Infinity);
 * - plugin parameters representable in float32, the precision of every tensor
 *   ({@link float32Issues}); SNRs in dB whose linear value (and its reciprocal) is too
 *   ({@link MAX_ABS_DB});
 * - the number of runs of a sweep ({@link MAX_RUNS}), checked before expanding it;
 * - the largest tensor of a job's pipeline ({@link tensorSizeIssues}, at most
 *   {@link MAX_TENSOR_ELEMENTS} complex elements);
 * - a degenerate scenario (sequenceLength 1 with several devices, {@link degenerateScenarioIssue}).
 *
 * Everything here reads the spec (and, for the scenario, the capabilities the plan grants); no
 * plugin descriptor is asked.
 */
import { SLOTS, UPSTREAM_SLOTS, type Capability, type Scenario } from '@gfra/core';
import type { RawIssue } from './ajv-issues';
import { formatPath, type PathSegment } from './json-location';
import type { Spec } from './schema';

/** Deepest nesting of objects and arrays accepted in a spec file (a valid spec needs fewer than 10). */
export const MAX_NESTING = 64;

/** Largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;
/** Smallest normal float32 (2^-126); nonzero values below it lose precision or flush to zero. */
export const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;
/**
 * Largest |x| accepted for an SNR-like parameter in dB: 10^(x/10) and its reciprocal are both
 * normal float32 numbers for |x| <= 10 log10(2^126) = 379.3 dB (rounded down to whole dB). Channels
 * use the linear SNR (beta_n = sigma^2 10^(SNR/10), rayleigh) and its reciprocal
 * (sigma^2 = E_s / (J 10^(Eb/N0 / 10)), per-resource-rayleigh).
 */
export const MAX_ABS_DB = 379;
/** Parameter names read as an SNR in dB (snrDb, ebN0Db, esN0Db, ...), with every number under them. */
const DB_PARAM = /(snr|n0)Db$/i;

/** Largest number of runs (sweep points x candidates) a spec may plan. */
export const MAX_RUNS = 100_000;

/**
 * Largest tensor accepted, in complex float32 elements: 2^30, i.e. 8 GiB (real and imaginary
 * parts, 4 bytes each). Beyond it allocation fails on every backend (typed arrays stop at 2^32
 * elements, wasm at 4 GiB in all), long after the run started.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 30;

const RANGE = `float32 range (magnitude ${short(FLOAT32_MIN_NORMAL)} to ${short(FLOAT32_MAX)}, or 0)`;

/** 3.4e38, 1.2e-38: two significant digits. */
function short(x: number): string {
  return x.toExponential(1).replace('e+', 'e');
}

function show(x: number): string {
  return JSON.stringify(x) ?? String(x);
}

/** Line and column (1-based) of `offset` in `text`. */
function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * Where the JSON text nests objects and arrays deeper than `limit`: the path and position of the
 * first container beyond it. A linear scan that tolerates invalid JSON (the syntax is checked
 * afterwards, by a parser that would overflow its stack on such a file).
 */
export function nestingProblem(
  text: string,
  limit = MAX_NESTING,
): { segments: PathSegment[]; message: string; hint: string; line: number; column: number } | undefined {
  const stack: { array: boolean; key: string | undefined; index: number }[] = [];
  let lastString = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const raw = text.slice(i, j + 1);
      try {
        lastString = JSON.parse(raw) as string;
      } catch {
        lastString = raw.slice(1, -1);
      }
      i = j;
    } else if (c === '{' || c === '[') {
      if (stack.length >= limit) {
        const segments = stack.map((f) => (f.array ? f.index : (f.key ?? '')));
        return {
          segments,
          message: `nests objects and arrays ${stack.length + 1} levels deep; at most ${limit} levels are accepted`,
          hint: 'A spec needs fewer than 10 levels: look for unbalanced brackets or a generated value nested too deep',
          ...positionOf(text, i),
        };
      }
      stack.push({ array: c === '[', key: undefined, index: 0 });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ':') {
      const top = stack[stack.length - 1];
      if (top !== undefined && !top.array) top.key = lastString;
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.array === true) top.index++;
    }
  }
  return undefined;
}

/** The values of a parsed spec, depth first with their paths, down to {@link MAX_NESTING} levels. */
function* values(data: unknown): Generator<{ value: unknown; segments: PathSegment[] }> {
  const stack: { value: unknown; segments: PathSegment[] }[] = [{ value: data, segments: [] }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; segments: PathSegment[] };
    yield item;
    const { value, segments } = item;
    if (value === null || typeof value !== 'object' || segments.length >= MAX_NESTING) continue;
    const entries: [PathSegment, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (let k = entries.length - 1; k >= 0; k--) stack.push({ value: entries[k][1], segments: [...segments, entries[k][0]] });
  }
}

/**
 * A container nested deeper than {@link MAX_NESTING} in a spec built in code (text is checked by
 * {@link nestingProblem} before parsing).
 */
export function nestingIssue(data: unknown): RawIssue | undefined {
  for (const { value, segments } of values(data)) {
    if (segments.length >= MAX_NESTING && value !== null && typeof value === 'object') {
      return {
        segments,
        message: `nests objects and arrays ${segments.length + 1} levels deep; at most ${MAX_NESTING} levels are accepted`,
        hint: 'A spec needs fewer than 10 levels: look for a value nested too deep',
      };
    }
  }
  return undefined;
}

/**
 * Numbers that are not finite: Infinity from a literal that overflows (1e309), or NaN / Infinity
 * in a spec built in code. `literal` gives the text of a number as written in the file, when known.
 */
export function nonFiniteIssues(data: unknown, literal?: (segments: PathSegment[]) => string | undefined): RawIssue[] {
  const issues: RawIssue[] = [];
  const hint = `Use a finite number; plugin parameters must also fit the ${RANGE}`;
  for (const { value, segments } of values(data)) {
    if (typeof value !== 'number' || Number.isFinite(value)) continue;
    const written = Number.isNaN(value) ? undefined : literal?.(segments);
    issues.push(
      written !== undefined
        ? { segments, message: `is ${written}, which overflows to ${value > 0 ? '' : '-'}Infinity: numbers must be finite (at most about 1.8e308 in magnitude)`, hint }
        : { segments, message: `is ${String(value)}: numbers must be finite`, hint },
    );
  }
  return issues;
}

/** Every plugin slot of a spec: its segments and params. */
function pluginParams(spec: Spec): { at: PathSegment[]; params: unknown }[] {
  const out: { at: PathSegment[]; params: unknown }[] = [];
  for (const slot of UPSTREAM_SLOTS) if (spec[slot] !== undefined) out.push({ at: [slot, 'params'], params: spec[slot].params });
  for (const [name, c] of Object.entries(spec.candidates ?? {})) {
    for (const slot of SLOTS) {
      const config = c[slot];
      if (config !== undefined) out.push({ at: ['candidates', name, slot, 'params'], params: config.params });
    }
  }
  (spec.metrics ?? []).forEach((m, i) => out.push({ at: ['metrics', i, 'params'], params: m.params }));
  return out;
}

/**
 * Plugin parameters that float32 tensors cannot hold: magnitude above {@link FLOAT32_MAX} or
 * nonzero below {@link FLOAT32_MIN_NORMAL}; and SNR-like dB parameters beyond
 * ±{@link MAX_ABS_DB} dB.
 */
export function float32Issues(spec: Spec): RawIssue[] {
  const issues: RawIssue[] = [];
  const walk = (value: unknown, segments: PathSegment[], inDb: boolean) => {
    if (typeof value === 'number') {
      const size = Math.abs(value);
      if (size > FLOAT32_MAX || (size > 0 && size < FLOAT32_MIN_NORMAL)) {
        issues.push({
          segments,
          message: `is ${show(value)}, outside the ${RANGE}: in a tensor it would become ${size > FLOAT32_MAX ? `${value > 0 ? '' : '-'}Infinity` : '0 or lose its precision'}`,
          hint: `Use 0 or a magnitude from ${short(FLOAT32_MIN_NORMAL)} to ${short(FLOAT32_MAX)} (gfra computes in float32)`,
        });
      } else if (inDb && size > MAX_ABS_DB) {
        issues.push({
          segments,
          message: `is ${show(value)} dB, beyond ±${MAX_ABS_DB} dB: the channel uses 10^(SNR/10) and its reciprocal, which must both stay in the ${RANGE}`,
          hint: `Use a value in [-${MAX_ABS_DB}, ${MAX_ABS_DB}] dB`,
        });
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...segments, i], inDb));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, [...segments, k], inDb || DB_PARAM.test(k));
    }
  };
  for (const { at, params } of pluginParams(spec)) walk(params, at, false);
  return issues;
}

/** The sweep key of each swept path, with the index of the point's value in its list. */
export interface SweptParam {
  /** Segments of the sweep entry of `path` at this point, or undefined when `path` is not swept. */
  (path: string): PathSegment[] | undefined;
}

/** Segments and message prefix of a parameter: its sweep entry when swept, else its own path. */
function where(segments: readonly PathSegment[], swept: SweptParam): { segments: PathSegment[]; prefix: string } {
  const entry = swept(segments.join('.'));
  return entry !== undefined ? { segments: entry, prefix: `value for ${formatPath(segments)} ` } : { segments: [...segments], prefix: '' };
}

/** One dimension of a tensor: its symbol, size and the spec path that sets it. */
interface Dim {
  readonly symbol: string;
  readonly size: number;
  /** The parameter that sets it, and its value as written (J for Q = 2^J). */
  readonly segments: readonly PathSegment[];
  readonly value: number;
}

/** Where a job's batch size comes from: evaluation, the threshold fit or training. */
export interface BatchSource {
  /** Trials per batch as the engine runs them (batchSize capped by the trials to run). */
  readonly size: number;
  /** Spec path of the batch size (`montecarlo.batchSize`, `candidates.c.train.batchSize`). */
  readonly segments: readonly PathSegment[];
  /** The batch size as written. */
  readonly value: number;
  /** ` during training of candidate "c"`, or empty. */
  readonly context: string;
}

/**
 * The main tensors of a pipeline (signal model of @gfra/core plugin.ts): tx [B, N, L],
 * y [B, L, M], channel [B, N, M] and codebook [L, N*Q]. Per-resource fading makes the channel
 * [B, N, L, M]; it is not counted, so the estimate is a lower bound of what the job allocates (a
 * refusal is never a false alarm). Each tensor above {@link MAX_TENSOR_ELEMENTS} is reported at
 * its dominant parameter (its largest dimension), with the largest batch size that would fit.
 */
/** What a job's plugins make of the pipeline's tensors (beyond the scenario's sizes). */
export interface PipelineShapes {
  /** The channel draws a fading coefficient per resource: channel [B, N, L, M] instead of [B, N, M]. */
  readonly perResourceChannel?: boolean;
  /** The encoder draws a codebook per trial (redraw "per-trial"): codebook [B, L, N*Q] instead of [L, N*Q]. */
  readonly perTrialCodebook?: boolean;
}

export function tensorSizeIssues(scenario: Scenario, batch: BatchSource, swept: SweptParam, shapes: PipelineShapes = {}): { issue: RawIssue; elements: number }[] {
  const N: Dim = { symbol: 'N', size: scenario.numDevices, segments: ['scenario', 'numDevices'], value: scenario.numDevices };
  const L: Dim = { symbol: 'L', size: scenario.sequenceLength, segments: ['scenario', 'sequenceLength'], value: scenario.sequenceLength };
  const M: Dim = { symbol: 'M', size: scenario.numAntennas, segments: ['scenario', 'numAntennas'], value: scenario.numAntennas };
  const Q: Dim = { symbol: 'Q', size: 2 ** scenario.bitsPerDevice, segments: ['scenario', 'bitsPerDevice'], value: scenario.bitsPerDevice };
  const B: Dim = { symbol: 'B', size: batch.size, segments: batch.segments, value: batch.value };
  const name = (d: Dim) => formatPath(d.segments);
  const tensors: { name: string; dims: Dim[][] }[] = [
    { name: 'tx', dims: [[B], [N], [L]] },
    { name: 'y', dims: [[B], [L], [M]] },
    { name: 'channel', dims: shapes.perResourceChannel === true ? [[B], [N], [L], [M]] : [[B], [N], [M]] },
    { name: 'codebook', dims: shapes.perTrialCodebook === true ? [[B], [L], [N, Q]] : [[L], [N, Q]] },
  ];
  const elements = (t: { dims: Dim[][] }) => t.dims.flat().reduce((p, d) => p * d.size, 1);
  const perTrial = Math.max(...tensors.filter((t) => t.dims[0][0] === B).map((t) => elements(t) / B.size));
  const maxBatch = Math.floor(MAX_TENSOR_ELEMENTS / perTrial);
  const issues: { issue: RawIssue; elements: number }[] = [];
  for (const t of tensors) {
    const count = elements(t);
    if (count <= MAX_TENSOR_ELEMENTS) continue;
    const dims = t.dims.flat().filter((d) => d.symbol !== 'Q' || d.size > 1);
    const dominant = dims.reduce((a, b) => (b.size > a.size ? b : a));
    const shape = `[${t.dims.map((g) => g.map((d) => d.symbol).join('*')).join(', ')}] = [${t.dims.map((g) => g.map((d) => d.size).join('*')).join(', ')}]`;
    const gib = (count * 8) / 2 ** 30;
    const { segments, prefix } = where(dominant.segments, swept);
    const batched = t.dims[0][0] === B;
    let hint: string;
    if (dominant === B) hint = `Use ${name(B)} <= ${maxBatch}`;
    else if (!batched) hint = `Lower ${dims.map(name).join(', ')}`;
    else if (maxBatch >= 1) hint = `Lower ${name(B)} to at most ${maxBatch}, or lower ${name(dominant)}`;
    else hint = `Lower ${name(dominant)}: even a batch of one trial exceeds the limit`;
    const message =
      `${prefix}is ${dominant.value}: the ${t.name} tensor ${shape}${batch.context} would hold ${count.toExponential(2)} complex float32 elements ` +
      `(${gib >= 1024 ? `${(gib / 1024).toFixed(1)} TiB` : `${gib.toFixed(1)} GiB`}); at most 2^30 (8 GiB) per tensor are accepted`;
    issues.push({ issue: { segments, message, hint }, elements: count });
  }
  return issues;
}

/**
 * sequenceLength 1 with several devices and no channel realisations granted to the detector:
 * devices are then told apart only by their sequences, and length-1 sequences are all scalar
 * multiples of one another, so which devices are active cannot be identified from Y (any
 * detector reports noise). With channelState (per-resource fading with known channel) the
 * channel realisations can separate them.
 */
export function degenerateScenarioIssue(scenario: Scenario, granted: readonly Capability[], swept: SweptParam): RawIssue | undefined {
  if (scenario.sequenceLength !== 1 || scenario.numDevices < 2 || granted.includes('channelState')) return undefined;
  const { segments, prefix } = where(['scenario', 'sequenceLength'], swept);
  return {
    segments,
    message:
      `${prefix}is 1 with numDevices = ${scenario.numDevices}: sequences of length 1 are scalar multiples of one another, ` +
      'so without the channel realisations (channelState) no detector can tell which devices are active',
    hint: 'Use sequenceLength >= 2 (devices are told apart by their sequences), or a single device',
  };
}

/** The number of runs (points x candidates) of a sweep, checked before expanding it. */
export function sweepSizeIssue(axes: readonly { key: string; values: readonly unknown[] }[], candidates: number): RawIssue | undefined {
  const points = axes.reduce((p, a) => p * a.values.length, 1);
  const runs = points * candidates;
  if (runs <= MAX_RUNS) return undefined;
  return {
    segments: ['sweep'],
    message: `expands to ${points} points x ${candidates} candidate${candidates === 1 ? '' : 's'} = ${runs} runs; at most ${MAX_RUNS} are accepted`,
    hint: `Use fewer values per key (${axes.map((a) => `${JSON.stringify(a.key)}: ${a.values.length}`).join(', ')}), or split the sweep over several specs`,
  };
}

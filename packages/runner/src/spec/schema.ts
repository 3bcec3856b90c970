/**
 * The spec format, and the JSON Schema assembled from the registry.
 *
 * A plugin slot is `{ "plugin": "<name>", "params": { ... } }`. The assembled schema lists the
 * registered names of each kind in `plugin` and, for each name, an if/then branch that checks
 * `params` against that plugin's TypeBox schema — so ajv validates everything in one pass and
 * editors that read `"$schema"` complete plugin names (with each plugin's summary) and parameters.
 *
 * The same schema is what `gfra schema` writes, so it must also hold for a validator that fills
 * no defaults (an editor, a standard JSON Schema validator): a property with a `default` is never
 * listed in `required` ({@link defaultsNotRequired}).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ScenarioSchema, PLUGIN_KINDS, TrainSchema, type PluginKind, type Registry, type TrainConfig } from '@gfra/core';

export const SPEC_SCHEMA_ID = 'https://gfra.dev/schema/spec.json';
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

export const MonteCarloSchema = Type.Object(
  {
    batchSize: Type.Integer({ minimum: 1, default: 256, description: 'trials simulated together in one batch (B)' }),
    targetEvents: Type.Integer({
      minimum: 1,
      default: 100,
      description: 'stop a (point, candidate) once every tracked error rate has seen this many error events',
    }),
    maxTrials: Type.Integer({ minimum: 1, default: 100000, description: 'stop after this many trials' }),
    maxSeconds: Type.Number({
      exclusiveMinimum: 0,
      default: 600,
      description: 'stop a (point, candidate) after this much wall-clock time (makes results depend on speed)',
    }),
    confidence: Type.Number({
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      default: 0.95,
      description: 'two-sided confidence level of the reported intervals',
    }),
    draws: Type.Union([Type.Literal('shared'), Type.Literal('independent')], {
      default: 'shared',
      description:
        '"shared": every random draw is keyed by (seed, sweep point, slot, draw name, trial), so candidates that use the same traffic / channel see identical activity, messages, fading and noise, and pilot encoders share their base draw (paired comparisons, gfra compare); "independent": every candidate has its own streams',
    }),
    repetitions: Type.Integer({
      minimum: 1,
      default: 1,
      description:
        'run every (point, candidate) this many times with independent run-level draws (pilot matrix, geometry, weight initialisation and training data, fitted thresholds); results keep each repetition and add the across-repetition mean with a t-interval',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Monte Carlo budget and stopping rule' },
);
export type MonteCarlo = Static<typeof MonteCarloSchema>;

export const ThresholdSchema = Type.Object(
  {
    trials: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'trials of the training domain to fit gamma* on (default: the train block\'s trainingSetSize, else 2000)',
      }),
    ),
    batchSize: Type.Optional(Type.Integer({ minimum: 1, description: 'trials per batch while fitting (default: montecarlo.batchSize)' })),
  },
  {
    additionalProperties: false,
    description:
      'Thresholding module (Cui, Li, Zhang [Cui2021], Sec. IV-C): replace the detector\'s activity decision by activityScore >= gamma*, with gamma* minimising misses + false alarms on trials of the training domain (the training set of a trained candidate), fitted before evaluation',
  },
);
export type ThresholdConfig = Static<typeof ThresholdSchema>;

/** A plugin slot as it appears in a spec. */
export interface SlotConfig {
  plugin: string;
  params: Record<string, unknown>;
}

export interface CandidateConfig {
  /** Display name (tables, figures, reports); the key when absent. Not hashed. */
  label?: string;
  detector: SlotConfig;
  traffic?: SlotConfig;
  channel?: SlotConfig;
  encoder?: SlotConfig;
  /** Train the candidate's trainable plugins before evaluating it. */
  train?: TrainConfig;
  /** Fit the activity threshold gamma* on training-domain trials before evaluating it. */
  threshold?: ThresholdConfig;
}

/** A spec after validation, with defaults applied. */
export interface Spec {
  $schema?: string;
  name: string;
  description?: string;
  seed: number;
  plugins?: string[];
  scenario: Static<typeof ScenarioSchema>;
  traffic: SlotConfig;
  channel: SlotConfig;
  encoder: SlotConfig;
  candidates: Record<string, CandidateConfig>;
  metrics: SlotConfig[];
  /** Path -> values (a range as written is expanded to its list by validation). */
  sweep?: Record<string, unknown[]>;
  montecarlo: MonteCarlo;
}


function slotSchema(registry: Registry, kind: PluginKind): Record<string, unknown> {
  const classes = registry.list(kind);
  const names = classes.map((c) => c.plugin.name);
  return {
    type: 'object',
    description: `A ${kind} plugin: { "plugin": name, "params": {...} }`,
    required: ['plugin'],
    additionalProperties: false,
    properties: {
      plugin: {
        type: 'string',
        enum: names,
        description: `${kind} plugin name`,
        'x-kind': kind,
      },
      params: { type: 'object', default: {}, description: 'plugin parameters (see `gfra list`)' },
    },
    allOf: classes.map((c) => ({
      // The summary rides on the branch's constant: editors (VS Code) show it beside the name in
      // completions and on hover, and ajv reports nothing from an `if`, so messages are unchanged.
      if: { properties: { plugin: { const: c.plugin.name, description: c.plugin.summary } }, required: ['plugin'] },
      then: {
        properties: {
          params: { ...plainSchema(c.plugin.params), description: c.plugin.summary },
        },
      },
    })),
  };
}

/** A TypeBox schema as a plain JSON object (symbol keys dropped). */
export function plainSchema(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Keywords whose values are data (a property named like them under `properties` is a schema). */
const DATA_KEYWORDS = new Set(['default', 'const', 'enum', 'examples']);
/** Keywords whose values map names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependencies']);

/**
 * A copy of `schema` in which no property that has a `default` is listed in `required`, at any
 * depth (TypeBox lists every property that is not Optional, defaulted or not).
 *
 * gfra's own validation is unchanged by this: it fills defaults before `required` is checked
 * (plugin parameters and `train` with `applyDefaults`, inside unions too; everything else with
 * ajv's `useDefaults`, which assigns an object's defaults before its keywords run), so a defaulted
 * property was never missing there. A validator that fills no defaults — an editor, a standard
 * JSON Schema validator — would otherwise reject every spec that leaves a default out.
 */
export function defaultsNotRequired(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(defaultsNotRequired);
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DATA_KEYWORDS.has(key)) out[key] = value;
    else if (SCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, defaultsNotRequired(sub)]));
    } else out[key] = defaultsNotRequired(value);
  }
  const properties = out.properties;
  if (Array.isArray(out.required) && isObject(properties)) {
    const required = out.required.filter((name) => {
      const property = properties[name as string];
      return !(isObject(property) && 'default' in property);
    });
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

/** The full spec schema for the plugins currently registered (what `gfra schema` writes). */
export function assembleSpecSchema(registry: Registry): Record<string, unknown> {
  const slot = Object.fromEntries(PLUGIN_KINDS.map((k) => [k, slotSchema(registry, k)])) as Record<PluginKind, unknown>;
  return defaultsNotRequired({
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: SPEC_SCHEMA_ID,
    title: 'gfra spec',
    description: 'A gfra experiment: scenario, pipeline slots, candidates, metrics, sweep and Monte Carlo budget',
    type: 'object',
    required: ['name', 'seed', 'scenario', 'traffic', 'channel', 'encoder', 'candidates', 'metrics'],
    additionalProperties: false,
    properties: {
      $schema: { type: 'string', description: 'path or URL of this schema (for editor completion)' },
      name: { type: 'string', pattern: NAME_PATTERN, description: 'experiment name (letters, digits, . _ -)' },
      description: { type: 'string' },
      seed: { type: 'integer', minimum: 0, maximum: 4294967295, description: 'master seed of every random draw' },
      plugins: {
        type: 'array',
        items: { type: 'string' },
        description: 'third-party plugin packages or files (relative to the spec) to load',
      },
      scenario: plainSchema(ScenarioSchema),
      traffic: slot.traffic,
      channel: slot.channel,
      encoder: slot.encoder,
      candidates: {
        type: 'object',
        description: 'methods to compare: each names its detector and may override traffic, channel or encoder',
        minProperties: 1,
        propertyNames: { pattern: NAME_PATTERN },
        additionalProperties: {
          type: 'object',
          required: ['detector'],
          additionalProperties: false,
          properties: {
            label: {
              type: 'string',
              minLength: 1,
              description: 'display name in tables, figures and reports (default: the candidate key); not part of the spec hash, so changing it keeps the stored results',
            },
            detector: slot.detector,
            traffic: slot.traffic,
            channel: slot.channel,
            encoder: slot.encoder,
            train: plainSchema(TrainSchema),
            threshold: plainSchema(ThresholdSchema),
          },
        },
      },
      metrics: { type: 'array', minItems: 1, items: slot.metric, description: 'metrics to measure' },
      sweep: {
        type: 'object',
        description:
          'parameter path -> list of values, or a range of numbers (cartesian product of the keys); "a, b" -> list of [a, b] pairs that move together (a range gives each value to every path). A top-level traffic / channel / encoder parameter is also set in the candidates\' overrides of that slot that run the same plugin',
        additionalProperties: {
          description: 'a list of values, or a range { "from", "to", "step" } / { "from", "to", "perDecade" }',
          anyOf: [
            { type: 'array', minItems: 1, description: 'the values, in order' },
            {
              type: 'object',
              description:
                'a range of numbers: { "from", "to", "step" } for from, from + step, ... up to to (included when on the grid), or { "from", "to", "perDecade" } for that many values per factor of 10 (from and to > 0); at most 10000 values',
              required: ['from', 'to'],
              additionalProperties: false,
              properties: {
                from: { type: 'number', description: 'first value' },
                to: { type: 'number', description: 'last value (included when it lies on the grid)' },
                step: { type: 'number', description: 'distance between neighbouring values (negative for a range going down); not with perDecade' },
                perDecade: { type: 'integer', minimum: 1, description: 'values per factor of 10 (logarithmic range); not with step' },
              },
            },
          ],
        },
      },
      montecarlo: plainSchema(MonteCarloSchema),
    },
  }) as Record<string, unknown>;
}

/**
 * The bad-spec corpus: every file in test/bad-specs/ is a spec with a known problem (a few with
 * several at once). Each is loaded the way the CLI loads it (`loadSpec`), and the issues it
 * raises are compared with the table below: the exact JSON path, the full message text and the
 * hint, in order, and their number. A second group runs the real CLI on a few of them.
 *
 * An entry with `pending` describes the message as it should be; the runner does not produce it
 * yet, so its test is skipped (the reason says what is wrong today); GFRA_RUN_PENDING=1 runs it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { SpecError, type PluginKind, type SpecIssue } from '@gfra/core';
import { loadSpec } from '../src/plan/load';
import { builtinRegistry } from '../src/spec/plugins';

interface ExpectedIssue {
  /** Exact `SpecIssue.path`. */
  readonly path: string;
  readonly message: RegExp;
  /** The hint must match; without it the issue must have no hint. */
  readonly hint?: RegExp;
  /** 1-based position in the file, checked when given. */
  readonly line?: number;
  readonly column?: number;
}

interface Case {
  readonly issues: readonly ExpectedIssue[];
  /** Why the runner does not (yet) produce these issues: the test is skipped. */
  readonly pending?: string;
}

/** A RegExp matching exactly `text`. */
function exact(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
}

const REGISTRY = builtinRegistry();

/**
 * The "Available: ..." list of an unknown-plugin hint: every registered plugin of the kind, sorted.
 * Taken from the registry so that adding a plugin does not change the pinned messages.
 */
function available(kind: PluginKind): string {
  return [...REGISTRY.names(kind)].sort().join(', ');
}

/**
 * The hint of a missing capability: `first` (a channel that provides it with default parameters)
 * is listed first; further providers registered later may follow.
 */
function providersHint(capability: string, first: string, detector: string): RegExp {
  const one = (name: string) => `[a-z]+ "${name}" provides ${capability} with default parameters`;
  return new RegExp(
    `^Configure the traffic, encoder or channel to provide it \\(channel "${first}" provides ${capability} with default parameters(; ${one('[a-z0-9-]+')})*\\), or give "${detector}" parameters that do not need it$`,
  );
}

const MISSING_MODULE = /^cannot find module "\.\/no-such-plugin\.ts" \(looked from .*[\\/]test[\\/]bad-specs\)$/;

/**
 * Expected issues per corpus file, in the order they are reported (file order). Each message and
 * hint was read and judged clear before it was pinned here; a change to any of them must be a
 * deliberate improvement, made here too.
 */
const CASES: Readonly<Record<string, Case>> = {
  "01-invalid-json-trailing-comma.json": {
    issues: [
      { path: "", message: exact("is not valid JSON: a property name in double quotes was expected"), hint: exact("Remove the trailing comma"), line: 19, column: 1 },
    ],
  },
  "02-invalid-json-missing-comma.json": {
    issues: [
      { path: "", message: exact("is not valid JSON: a comma was expected"), line: 6, column: 3 },
    ],
  },
  "03-invalid-json-truncated.json": {
    issues: [
      { path: "", message: exact("is not valid JSON: a closing brace } was expected"), line: 19, column: 1 },
    ],
  },
  "04-invalid-json-python-true.json": {
    issues: [
      { path: "", message: exact("is not valid JSON: unexpected character"), hint: exact("JSON spells these true, false and null; numbers must be finite"), line: 8, column: 83 },
    ],
  },
  "05-empty-file.json": {
    issues: [
      { path: "", message: exact("the file is empty"), hint: exact("A spec is a JSON object: { \"name\": ..., \"seed\": ..., ... }"), line: 1, column: 1 },
    ],
  },
  "06-duplicate-top-level-key.json": {
    // Two "sweep" entries: JSON.parse silently keeps only the second
    issues: [
      { path: "sweep", message: exact("is defined twice (first on line 19); JSON keeps only the last one"), hint: exact("Remove one of the two"), line: 20, column: 3 },
    ],
  },
  "07-missing-name.json": {
    // Missing required "name"
    issues: [
      { path: "name", message: exact("is required: experiment name (letters, digits, . _ -)"), line: 1, column: 1 },
    ],
  },
  "08-missing-required-keys.json": {
    // Several required top-level keys missing at once: seed, scenario, candidates, metrics
    issues: [
      { path: "seed", message: exact("is required: master seed of every random draw"), line: 1, column: 1 },
      { path: "scenario", message: exact("is required: System sizes, read by every plugin"), line: 1, column: 1 },
      { path: "candidates", message: exact("is required: methods to compare: each names its detector and may override traffic, channel or encoder"), line: 1, column: 1 },
      { path: "metrics", message: exact("is required: metrics to measure"), line: 1, column: 1 },
    ],
  },
  "09-unknown-top-level-senario.json": {
    // Unknown top-level property "senario" (a typo of "scenario")
    issues: [
      { path: "scenario", message: exact("is required: System sizes, read by every plugin"), line: 1, column: 1 },
      { path: "senario", message: exact("is not a known property"), hint: exact("Did you mean \"scenario\"? Allowed properties: $schema, candidates, channel, description, encoder, metrics, montecarlo, name, plugins, scenario, seed, sweep, traffic"), line: 6, column: 3 },
    ],
  },
  "10-seed-string.json": {
    // seed is a string
    issues: [
      { path: "seed", message: exact("must be an integer (got \"1234\")"), line: 5, column: 3 },
    ],
  },
  "11-num-devices-fractional.json": {
    // scenario.numDevices is not an integer
    issues: [
      { path: "scenario.numDevices", message: exact("must be an integer (got 10.5)"), line: 6, column: 16 },
    ],
  },
  "12-sequence-length-negative.json": {
    // scenario.sequenceLength is negative
    issues: [
      { path: "scenario.sequenceLength", message: exact("must be >= 1 (got -5)"), hint: exact("Use an integer >= 1 (L: pilot / sequence length, or number of resource elements (NOMA))"), line: 6, column: 52 },
    ],
  },
  "13-num-antennas-zero.json": {
    // scenario.numAntennas is 0
    issues: [
      { path: "scenario.numAntennas", message: exact("must be >= 1 (got 0)"), hint: exact("Use an integer >= 1 (M: receive antennas at the base station)"), line: 6, column: 34 },
    ],
  },
  "14-bits-per-device-too-large.json": {
    // scenario.bitsPerDevice above 16
    issues: [
      { path: "scenario.bitsPerDevice", message: exact("must be <= 16 (got 20)"), hint: exact("Use an integer in [0, 16] (J: bits an active device embeds per block (Q = 2^J sequences per device); 0 = activity only)"), line: 10, column: 5 },
    ],
  },
  "15-unknown-traffic-bernouli.json": {
    // Unknown traffic plugin "bernouli" (typo of "bernoulli")
    issues: [
      { path: "traffic.plugin", message: exact("unknown traffic plugin \"bernouli\""), hint: exact(`Did you mean "bernoulli"? Available: ${available('traffic')}. Run \`gfra list traffic\` for details`), line: 7, column: 15 },
    ],
  },
  "16-unknown-channel-raleigh.json": {
    // Unknown channel plugin "raleigh" (typo of "rayleigh")
    issues: [
      { path: "channel.plugin", message: exact("unknown channel plugin \"raleigh\""), hint: exact(`Did you mean "rayleigh"? Available: ${available('channel')}. Run \`gfra list channel\` for details`), line: 8, column: 15 },
    ],
  },
  "17-unknown-encoder-gaussian-pilot.json": {
    // Unknown encoder plugin "gaussian-pilot" (typo of "gaussian-pilots")
    issues: [
      { path: "encoder.plugin", message: exact("unknown encoder plugin \"gaussian-pilot\""), hint: exact(`Did you mean "gaussian-pilots"? Available: ${available('encoder')}. Run \`gfra list encoder\` for details`), line: 9, column: 15 },
    ],
  },
  "18-unknown-detector-corelation-energy.json": {
    // Unknown detector plugin "corelation-energy" (typo of "correlation-energy")
    issues: [
      { path: "candidates.energy.detector.plugin", message: exact("unknown detector plugin \"corelation-energy\""), hint: exact(`Did you mean "correlation-energy"? Available: ${available('detector')}. Run \`gfra list detector\` for details`), line: 13, column: 9 },
    ],
  },
  "19-unknown-metric-activty.json": {
    // Unknown metric plugin "activty" (typo of "activity")
    issues: [
      { path: "metrics[0].plugin", message: exact("unknown metric plugin \"activty\""), hint: exact(`Did you mean "activity"? Available: ${available('metric')}. Run \`gfra list metric\` for details`), line: 18, column: 16 },
    ],
  },
  "20-unknown-param-snrdB.json": {
    // Unknown channel parameter "snrdB" (typo of "snrDb")
    issues: [
      { path: "channel.params.snrdB", message: exact("is not a known property"), hint: exact("Did you mean \"snrDb\"? Allowed properties: knownLargeScaleFading, knownNoiseVariance, noiseVar, snrDb"), line: 8, column: 48 },
    ],
  },
  "21-activity-prob-above-one.json": {
    // traffic activityProb 1.5 > 1
    issues: [
      { path: "traffic.params.activityProb", message: exact("must be <= 1 (got 1.5)"), hint: exact("Use a value in (0, 1] (epsilon: probability that a device is active in a block)"), line: 7, column: 49 },
    ],
  },
  "22-activity-prob-zero.json": {
    // traffic activityProb 0 (must be > 0)
    issues: [
      { path: "traffic.params.activityProb", message: exact("must be > 0 (got 0)"), hint: exact("Use a value in (0, 1] (epsilon: probability that a device is active in a block)"), line: 7, column: 49 },
    ],
  },
  "23-false-alarm-one.json": {
    // threshold falseAlarm 1 (must be < 1)
    issues: [
      { path: "candidates.energy.detector.params.threshold.falseAlarm", message: exact("must be < 1 (got 1)"), hint: exact("Use a value in (0, 1) (target per-device false-alarm probability)"), line: 14, column: 57 },
    ],
  },
  "24-threshold-rule-bogus.json": {
    // Unknown threshold rule "bogus"
    issues: [
      { path: "candidates.energy.detector.params.threshold.rule", message: exact("must be one of \"false-alarm\", \"midpoint\", \"fixed\" (got \"bogus\")"), line: 14, column: 34 },
    ],
  },
  "25-threshold-fixed-missing-value.json": {
    // Threshold rule "fixed" without its "value"
    issues: [
      { path: "candidates.energy.detector.params.threshold.value", message: exact("is required: threshold on the normalised energy"), line: 14, column: 20 },
    ],
  },
  "26-threshold-rule-typo.json": {
    // Threshold rule "midpiont" (typo of "midpoint")
    issues: [
      { path: "candidates.energy.detector.params.threshold.rule", message: exact("must be one of \"false-alarm\", \"midpoint\", \"fixed\" (got \"midpiont\")"), hint: exact("Did you mean \"midpoint\"?"), line: 14, column: 34 },
    ],
  },
  "27-threshold-rule-missing.json": {
    // A threshold object without its "rule"
    issues: [
      { path: "candidates.energy.detector.params.threshold.rule", message: exact("is required (one of \"false-alarm\", \"midpoint\", \"fixed\")"), line: 14, column: 20 },
    ],
  },
  "28-noise-level-typo.json": {
    // noiseLevel "knwon" (typo of "known")
    issues: [
      { path: "candidates.energy.detector.params.noiseLevel", message: exact("must be one of \"estimated\", \"known\" (got \"knwon\")"), hint: exact("Did you mean \"known\"?"), line: 15, column: 11 },
    ],
  },
  "29-snr-range-min-above-max.json": {
    // snrDb range with min > max
    issues: [
      { path: "channel.params.snrDb", message: exact("min (20 dB) must be <= max (0 dB)"), line: 8, column: 48 },
    ],
  },
  "30-snr-db-string.json": {
    // snrDb given as a string with a unit
    issues: [
      { path: "channel.params.snrDb", message: exact("must be a number or an object (got \"10dB\")"), hint: exact("Expected: Per-device SNR beta_n / sigma^2 in dB: a number (all devices), or { \"min\", \"max\" } to draw each device uniformly in dB per block"), line: 8, column: 48 },
    ],
  },
  "31-snr-range-missing-max.json": {
    // snrDb range without "max"
    issues: [
      { path: "channel.params.snrDb.max", message: exact("is required: highest per-device SNR, dB"), line: 8, column: 48 },
    ],
  },
  "32-fixed-count-too-many-active.json": {
    // fixed-count numActive 30 > scenario.numDevices 20
    issues: [
      { path: "traffic.params.numActive", message: exact("must be <= scenario.numDevices = 20 (got 30)"), line: 7, column: 51 },
    ],
  },
  "33-empty-candidates.json": {
    // candidates is an empty object
    issues: [
      { path: "candidates", message: exact("must have at least 1 entry"), line: 10, column: 3 },
    ],
  },
  "34-candidate-name-with-spaces.json": {
    // A candidate name with spaces
    issues: [
      { path: "candidates[\"energy detector\"]", message: exact("\"energy detector\" is not a valid name: use letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit"), line: 11, column: 5 },
    ],
  },
  "35-candidate-missing-detector.json": {
    // A candidate without a detector
    issues: [
      { path: "candidates.energy.detector", message: exact("is required: A detector plugin: { \"plugin\": name, \"params\": {...} }"), line: 10, column: 18 },
    ],
  },
  "36-empty-metrics.json": {
    // metrics is an empty list
    issues: [
      { path: "metrics", message: exact("must have at least 1 item"), line: 18, column: 3 },
    ],
  },
  "37-sweep-path-typo.json": {
    // Sweep over "scenario.seqLength" (typo of "scenario.sequenceLength")
    issues: [
      { path: "sweep[\"scenario.seqLength\"]", message: exact("path \"scenario.seqLength\" does not exist in the spec (\"seqLength\" not found under \"scenario\")"), hint: exact("Did you mean \"sequenceLength\"? Keys under \"scenario\": numDevices, numAntennas, sequenceLength, bitsPerDevice."), line: 19, column: 13 },
    ],
  },
  "38-sweep-value-invalid.json": {
    // One sweep value (0) is not a valid sequenceLength
    issues: [
      { path: "sweep[\"scenario.sequenceLength\"][1]", message: exact("value for scenario.sequenceLength must be >= 1 (got 0)"), hint: exact("Use an integer >= 1 (L: pilot / sequence length, or number of resource elements (NOMA))"), line: 19, column: 45 },
    ],
  },
  "39-coupled-sweep-wrong-tuple-length.json": {
    // A coupled sweep entry with 3 values for 2 paths
    issues: [
      { path: "sweep[\"scenario.numDevices, traffic.params.numActive\"][1]", message: exact("must be a list of 2 values, one per path of \"scenario.numDevices, traffic.params.numActive\" (got [40,4,8])"), line: 19, column: 72 },
    ],
  },
  "40-sweep-reserved-root-name.json": {
    // Sweeping the spec name
    issues: [
      { path: "sweep.name", message: exact("cannot sweep \"name\""), hint: exact("Sweep scenario sizes, plugin params, seed, candidates or montecarlo settings"), line: 19, column: 13 },
    ],
  },
  "41-sweep-empty-list.json": {
    // A sweep key with no values
    issues: [
      { path: "sweep[\"scenario.sequenceLength\"]", message: exact("must have at least 1 item"), line: 19, column: 13 },
    ],
  },
  "42-sweep-same-path-twice.json": {
    // scenario.numDevices swept by two keys: one silently overrides the other
    issues: [
      { path: "sweep[\"scenario.numDevices, traffic.params.numActive\"]", message: exact("path \"scenario.numDevices\" is already swept by \"scenario.numDevices\""), hint: exact("Sweep each path once (put all its values in one list)"), line: 21, column: 5 },
    ],
  },
  "43-capability-midpoint-without-fading.json": {
    // midpoint threshold needs beta_n but the channel hides it
    issues: [
      { path: "candidates.energy.detector", message: exact("candidate \"energy\": detector \"correlation-energy\" needs largeScaleFading, which nothing upstream provides (traffic \"bernoulli\": activityProbability; encoder \"gaussian-pilots\": codebook; channel \"rayleigh\": noiseVariance)"), hint: providersHint("largeScaleFading", "rayleigh", "correlation-energy"), line: 15, column: 7 },
    ],
  },
  "44-capability-known-noise-without-variance.json": {
    // noiseLevel "known" but the channel hides sigma^2
    issues: [
      { path: "candidates.energy.detector", message: exact("candidate \"energy\": detector \"correlation-energy\" needs noiseVariance, which nothing upstream provides (traffic \"bernoulli\": activityProbability; encoder \"gaussian-pilots\": codebook; channel \"rayleigh\": largeScaleFading)"), hint: providersHint("noiseVariance", "rayleigh", "correlation-energy"), line: 12, column: 7 },
    ],
  },
  "45-capability-candidate-channel-override.json": {
    // One candidate overrides the channel and loses largeScaleFading
    issues: [
      { path: "candidates.energy-midpoint.detector", message: exact("candidate \"energy-midpoint\": detector \"correlation-energy\" needs largeScaleFading, which nothing upstream provides (traffic \"bernoulli\": activityProbability; encoder \"gaussian-pilots\": codebook; channel \"rayleigh\" (candidates.energy-midpoint.channel): noiseVariance)"), hint: providersHint("largeScaleFading", "rayleigh", "correlation-energy"), line: 18, column: 7 },
    ],
  },
  "46-capability-at-one-sweep-point.json": {
    // The capability is lost at one sweep point only
    issues: [
      { path: "candidates.energy.detector", message: exact("candidate \"energy\": detector \"correlation-energy\" needs largeScaleFading, which nothing upstream provides (traffic \"bernoulli\": activityProbability; encoder \"gaussian-pilots\": codebook; channel \"rayleigh\": noiseVariance) (at sweep point knownLargeScaleFading=false)"), hint: providersHint("largeScaleFading", "rayleigh", "correlation-energy"), line: 12, column: 7 },
    ],
  },
  "47-montecarlo-confidence-and-batch-size.json": {
    // montecarlo confidence 1.2 and batchSize 0 (two problems)
    issues: [
      { path: "montecarlo.batchSize", message: exact("must be >= 1 (got 0)"), hint: exact("Use an integer >= 1 (trials simulated together in one batch (B))"), line: 19, column: 18 },
      { path: "montecarlo.confidence", message: exact("must be < 1 (got 1.2)"), hint: exact("Use a value in (0, 1) (two-sided confidence level of the reported intervals)"), line: 19, column: 55 },
    ],
  },
  "48-montecarlo-unknown-key.json": {
    // montecarlo "maxTrial" (typo of "maxTrials")
    issues: [
      { path: "montecarlo.maxTrial", message: exact("is not a known property"), hint: exact("Did you mean \"maxTrials\"? Allowed properties: batchSize, confidence, draws, maxSeconds, maxTrials, repetitions, targetEvents"), line: 19, column: 18 },
    ],
  },
  "49-plugin-module-missing.json": {
    // plugins lists a file that does not exist
    issues: [
      { path: "plugins[0]", message: MISSING_MODULE, hint: exact("Give a path relative to the spec file (e.g. \"./my-plugin.ts\") or an installed package name"), line: 19, column: 15 },
    ],
  },
  "50-plugins-not-a-list.json": {
    // plugins is a string, not a list
    issues: [
      { path: "plugins", message: exact("must be an array (got \"./my-plugin.ts\")"), line: 19, column: 3 },
    ],
  },
  "51-plugin-module-missing-and-other-errors.json": {
    // A missing plugin module must not hide the other problems
    issues: [
      { path: "plugins[0]", message: MISSING_MODULE, hint: exact("Give a path relative to the spec file (e.g. \"./my-plugin.ts\") or an installed package name"), line: 19, column: 15 },
      { path: "seed", message: exact("must be an integer (got \"1\")"), line: 5, column: 3 },
      { path: "metrics[0].plugin", message: exact("unknown metric plugin \"activty\""), hint: exact(`Did you mean "activity"? Available: ${available('metric')}. Run \`gfra list metric\` for details`), line: 18, column: 16 },
    ],
  },
  "52-bad-experiment-name.json": {
    // name with spaces and a slash
    issues: [
      { path: "name", message: exact("\"my experiment/v2\" is not a valid name: use letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit"), line: 3, column: 3 },
    ],
  },
  "53-params-not-object.json": {
    // params given as a number
    issues: [
      { path: "channel.params", message: exact("must be an object (got 10)"), line: 8, column: 37 },
    ],
  },
  "54-duplicate-metric.json": {
    // The same metric listed twice
    issues: [
      { path: "metrics[1]", message: exact("produces \"pmd\", \"pfa\", \"pmd+pfa\", already produced by metrics[0]"), hint: exact("List each metric once"), line: 18, column: 39 },
    ],
  },
  "55-many-schema-problems.json": {
    // Several schema problems at once: all must be reported together
    issues: [
      { path: "seed", message: exact("must be >= 0 (got -1)"), hint: exact("Use an integer in [0, 4294967295] (master seed of every random draw)"), line: 5, column: 3 },
      { path: "scenario.numDevices", message: exact("must be >= 1 (got 0)"), hint: exact("Use an integer >= 1 (N: number of devices (users))"), line: 6, column: 16 },
      { path: "scenario.numActive", message: exact("is not a known property"), hint: exact("Allowed properties: bitsPerDevice, numAntennas, numDevices, sequenceLength"), line: 6, column: 73 },
      { path: "traffic.params.activityProb", message: exact("must be <= 1 (got 2)"), hint: exact("Use a value in (0, 1] (epsilon: probability that a device is active in a block)"), line: 7, column: 49 },
      { path: "channel.plugin", message: exact("unknown channel plugin \"raleigh\""), hint: exact(`Did you mean "rayleigh"? Available: ${available('channel')}. Run \`gfra list channel\` for details`), line: 8, column: 15 },
      { path: "candidates.energy.detector.params.threshold.value", message: exact("must be >= 0 (got -1)"), hint: exact("Use a value >= 0 (threshold on the normalised energy)"), line: 14, column: 51 },
      { path: "metrics[1].plugin", message: exact("unknown metric plugin \"blerr\""), hint: exact(`Did you mean "bler"? Available: ${available('metric')}. Run \`gfra list metric\` for details`), line: 18, column: 40 },
    ],
  },
  "56-many-semantic-problems.json": {
    // Several semantic problems at once: sweep path typo, reserved root, wrong tuple
    issues: [
      { path: "sweep[\"channel.params.snr\"]", message: exact("path \"channel.params.snr\" does not exist in the spec (\"snr\" not found under \"channel.params\")"), hint: exact("Did you mean \"snrDb\"? Keys under \"channel.params\": snrDb, noiseVar, knownNoiseVariance, knownLargeScaleFading."), line: 20, column: 5 },
      { path: "sweep.description", message: exact("cannot sweep \"description\""), hint: exact("Sweep scenario sizes, plugin params, seed, candidates or montecarlo settings"), line: 21, column: 5 },
      { path: "sweep[\"scenario.numDevices, traffic.params.numActive\"][1]", message: exact("must be a list of 2 values, one per path of \"scenario.numDevices, traffic.params.numActive\" (got 40)"), line: 22, column: 64 },
    ],
  },
  "57-many-check-problems.json": {
    // Plugin check and capability problems at once
    issues: [
      { path: "traffic.params.numActive", message: exact("must be <= scenario.numDevices = 20 (got 30)"), line: 7, column: 51 },
      { path: "channel.params.snrDb", message: exact("min (5 dB) must be <= max (-5 dB)"), line: 10, column: 16 },
      { path: "candidates.energy.detector", message: exact("candidate \"energy\": detector \"correlation-energy\" needs largeScaleFading, which nothing upstream provides (traffic \"fixed-count\": activityProbability; encoder \"gaussian-pilots\": codebook; channel \"rayleigh\": noiseVariance)"), hint: providersHint("largeScaleFading", "rayleigh", "correlation-energy"), line: 15, column: 7 },
    ],
  },
  "58-threshold-without-activity-score.json": {
    // A threshold block on a detector without a soft activity score
    issues: [
      { path: "candidates.mpa.threshold", message: exact("candidate \"mpa\": the threshold block needs an activityScore from the detector, but \"scma-mpa\" provides only activity, message, bitLLR"), hint: exact("Remove the threshold block or use a detector that outputs a soft activity score"), line: 13, column: 7 },
    ],
  },
  "59-threshold-zero-trials.json": {
    // A threshold block with zero trials and an unknown key
    issues: [
      { path: "candidates.ml.threshold.trials", message: exact("must be >= 1 (got 0)"), hint: exact("Use an integer >= 1 (trials of the training domain to fit gamma* on (default: the train block's trainingSetSize, else 2000))"), line: 13, column: 22 },
      { path: "candidates.ml.threshold.fitOn", message: exact("is not a known property"), hint: exact("Allowed properties: batchSize, trials"), line: 13, column: 35 },
    ],
  },
  "60-sweep-path-proto.json": {
    // Sweep paths through __proto__ and constructor: resolved through own properties only, refused
    issues: [
      { path: "sweep[\"__proto__.polluted\"]", message: exact("cannot sweep \"__proto__.polluted\": \"__proto__\" names JavaScript's object machinery, not a key of the spec"), hint: exact("Sweep paths go through the spec's own keys only (\"__proto__\", \"constructor\" and \"prototype\" are refused), e.g. \"channel.params.snrDb\""), line: 19, column: 13 },
      { path: "sweep[\"scenario.constructor.name\"]", message: exact("cannot sweep \"scenario.constructor.name\": \"constructor\" names JavaScript's object machinery, not a key of the spec"), hint: exact("Sweep paths go through the spec's own keys only (\"__proto__\", \"constructor\" and \"prototype\" are refused), e.g. \"channel.params.snrDb\""), line: 19, column: 43 },
    ],
  },
  "61-train-override-proto.json": {
    // A training override through __proto__ (the valid override next to it is accepted)
    issues: [
      { path: "candidates.mlp.train.overrides[\"channel.params.__proto__.polluted\"]", message: exact("cannot override \"channel.params.__proto__.polluted\" for training: \"__proto__\" names JavaScript's object machinery, not a parameter"), hint: exact("Override paths go through the spec's own keys only (\"__proto__\", \"constructor\" and \"prototype\" are refused), e.g. \"channel.params.snrDb\""), line: 13, column: 45 },
    ],
  },
  "62-deeply-nested-params.json": {
    // A parameter nested 10000 levels deep: refused before parsing (the parsers overflowed their stack)
    issues: [
      { path: `channel.params.deep${"[0]".repeat(61)}`, message: exact("nests objects and arrays 65 levels deep; at most 64 levels are accepted"), hint: exact("A spec needs fewer than 10 levels: look for unbalanced brackets or a generated value nested too deep"), line: 8, column: 130 },
    ],
  },
  "63-utf8-bom-and-seed-string.json": {
    // A UTF-8 byte order mark is ignored (positions unchanged); the seed string is the only problem
    issues: [
      { path: "seed", message: exact("must be an integer (got \"1\")"), line: 5, column: 3 },
    ],
  },
  "64-number-overflows-to-infinity.json": {
    // 1e309 parses as Infinity (ajv and JSON.stringify showed it as null)
    issues: [
      { path: "channel.params.snrDb", message: exact("is 1e309, which overflows to Infinity: numbers must be finite (at most about 1.8e308 in magnitude)"), hint: exact("Use a finite number; plugin parameters must also fit the float32 range (magnitude 1.2e-38 to 3.4e38, or 0)"), line: 8, column: 48 },
    ],
  },
  "65-snr-db-beyond-float32.json": {
    // snrDb 1e308: a finite double, but Infinity in a float32 tensor (results were NaN)
    issues: [
      { path: "channel.params.snrDb", message: exact("is 1e+308, outside the float32 range (magnitude 1.2e-38 to 3.4e38, or 0): in a tensor it would become Infinity"), hint: exact("Use 0 or a magnitude from 1.2e-38 to 3.4e38 (gfra computes in float32)"), line: 8, column: 48 },
    ],
  },
  "66-noise-var-subnormal.json": {
    // noiseVar 1e-320: nonzero, below float32's smallest normal number (results were NaN)
    issues: [
      { path: "channel.params.noiseVar", message: exact("is 1e-320, outside the float32 range (magnitude 1.2e-38 to 3.4e38, or 0): in a tensor it would become 0 or lose its precision"), hint: exact("Use 0 or a magnitude from 1.2e-38 to 3.4e38 (gfra computes in float32)"), line: 8, column: 61 },
    ],
  },
  "67-sweep-snr-db-beyond-379.json": {
    // One swept SNR (400 dB) whose linear value overflows float32; reported once for both batch sizes
    issues: [
      { path: "sweep[\"channel.params.snrDb\"][2]", message: exact("value for channel.params.snrDb is 400 dB, beyond ±379 dB: the channel uses 10^(SNR/10) and its reciprocal, which must both stay in the float32 range (magnitude 1.2e-38 to 3.4e38, or 0)"), hint: exact("Use a value in [-379, 379] dB"), line: 19, column: 45 },
    ],
  },
  "68-num-devices-too-large.json": {
    // Ten million devices: failed 20-90 s into the run with an allocator message
    issues: [
      { path: "scenario.numDevices", message: exact("is 10000000: the tx tensor [B, N, L] = [256, 10000000, 10] would hold 2.56e+10 complex float32 elements (190.7 GiB); at most 2^30 (8 GiB) per tensor are accepted"), hint: exact("Lower montecarlo.batchSize to at most 10, or lower scenario.numDevices"), line: 6, column: 16 },
    ],
  },
  "69-num-antennas-too-large.json": {
    // 1e5 antennas: the channel tensor [B, N, M] exceeds the limit
    issues: [
      { path: "scenario.numAntennas", message: exact("is 100000: the channel tensor [B, N, M] = [256, 100, 100000] would hold 2.56e+9 complex float32 elements (19.1 GiB); at most 2^30 (8 GiB) per tensor are accepted"), hint: exact("Lower montecarlo.batchSize to at most 107, or lower scenario.numAntennas"), line: 6, column: 35 },
    ],
  },
  "70-sweep-too-many-runs.json": {
    // 400 x 300 sweep points: refused before expanding (a 3.2-million-point sweep validated for minutes)
    issues: [
      { path: "sweep", message: exact("expands to 120000 points x 1 candidate = 120000 runs; at most 100000 are accepted"), hint: exact("Use fewer values per key (\"channel.params.snrDb\": 400, \"montecarlo.maxTrials\": 300), or split the sweep over several specs"), line: 19, column: 3 },
    ],
  },
  "71-sequence-length-one.json": {
    // sequenceLength 1 with 20 devices: every detector reported pmd = 1 at any SNR
    issues: [
      { path: "scenario.sequenceLength", message: exact("is 1 with numDevices = 20: sequences of length 1 are scalar multiples of one another, so without the channel realisations (channelState) no detector can tell which devices are active"), hint: exact("Use sequenceLength >= 2 (devices are told apart by their sequences), or a single device"), line: 6, column: 52 },
      // and the energy detector's own check: its scores are bounded by L = 1
      { path: "candidates.energy.detector.params.threshold", message: exact("with noiseLevel \"estimated\" every score is at most L = 1, but the threshold is 1.938: no device could ever be declared active"), hint: exact("Use noiseLevel \"known\" (needs the noise variance), a longer sequenceLength, more antennas or a higher falseAlarm"), line: 14, column: 20 },
    ],
  },
  "72-energy-threshold-unreachable.json": {
    // N = L = M = 1: correlation-energy reported pmd = 1 at any SNR (its estimated-level score is always 1)
    issues: [
      { path: "candidates.energy.detector.params.threshold", message: exact("with noiseLevel \"estimated\" every score is at most L = 1, but the threshold is 2.996: no device could ever be declared active"), hint: exact("Use noiseLevel \"known\" (needs the noise variance), a longer sequenceLength, more antennas or a higher falseAlarm"), line: 14, column: 20 },
    ],
  },
  "73-montecarlo-common-random-numbers.json": {
    // the retired montecarlo.commonRandomNumbers (draws are shared by default)
    issues: [
      { path: "montecarlo.commonRandomNumbers", message: exact("is no longer a property"), hint: exact("Draws are now shared by default (\"draws\": \"shared\": every candidate sees the same traffic, channel, noise and base pilot draws); remove it, or set \"draws\": \"independent\" for a stream per candidate"), line: 19, column: 37 },
    ],
  },  "74-sweep-range-step-wrong-sign.json": {
    // A sweep range going up from 0 to 20 with a negative step
    issues: [
      { path: "sweep[\"channel.params.snrDb\"].step", message: exact("is -2 but the range goes up from 0 to 20: a negative step never reaches \"to\""), hint: exact("Use \"step\": 2"), line: 19, column: 59 },
    ],
  },
  "75-sweep-range-unknown-field.json": {
    // A sweep range with "stp" (typo of "step")
    issues: [
      { path: "sweep[\"channel.params.snrDb\"].stp", message: exact("is not a known property"), hint: exact("Did you mean \"step\"? Allowed properties: from, perDecade, step, to"), line: 19, column: 59 },
    ],
  },
  "76-sweep-top-level-slot-unused.json": {
    // channel.params.snrDb swept, but the only candidate overrides the channel with another plugin
    issues: [
      { path: "sweep[\"channel.params.snrDb\"]", message: exact("path \"channel.params.snrDb\" reaches no candidate: every candidate overrides channel (\"energy\": \"normalized-path-loss\"), none with the top-level plugin \"rayleigh\""), hint: exact("Sweep the candidates' own parameter instead: \"candidates.energy.channel.params.snrDb\""), line: 20, column: 13 },
    ],
  },
};

const CORPUS = path.join(__dirname, 'bad-specs');
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const corpusFiles = fs
  .readdirSync(CORPUS)
  .filter((f) => f.endsWith('.json'))
  .sort();

/** The SpecError that loading `file` throws (fails the test if it is accepted or throws something else). */
function specErrorOf(file: string): SpecError {
  try {
    loadSpec(file);
  } catch (err) {
    if (err instanceof SpecError) return err;
    throw new Error(`expected a SpecError, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
  throw new Error(`${path.basename(file)} was accepted`);
}

function describeIssues(issues: readonly SpecIssue[]): string {
  return issues.map((i) => `\n  ${JSON.stringify(i)}`).join('');
}

describe('bad-spec corpus', () => {
  it('has a table entry for every file, and a file for every table entry', () => {
    expect(corpusFiles.length).to.be.at.least(30);
    expect(corpusFiles.filter((f) => !(f in CASES)), 'corpus files without a table entry').to.deep.equal([]);
    expect(Object.keys(CASES).filter((f) => !corpusFiles.includes(f)), 'table entries without a file').to.deep.equal([]);
    for (const f of corpusFiles) expect(f).to.match(/^\d\d-[a-z0-9][a-zA-Z0-9-]*\.json$/);
  });

  for (const name of corpusFiles) {
    const expected = CASES[name];
    if (expected === undefined) continue; // reported by the coverage test
    const title = `${name}: ${expected.issues.map((i) => i.path || '(root)').join(', ')}`;
    // GFRA_RUN_PENDING=1 runs the pending entries too (to check a fix).
    const test = expected.pending === undefined || process.env.GFRA_RUN_PENDING === '1' ? it : it.skip;
    test(title, () => {
      const file = path.join(CORPUS, name);
      const err = specErrorOf(file);
      const { issues } = err;
      expect(issues.length, `number of issues; got:${describeIssues(issues)}`).to.equal(expected.issues.length);
      expected.issues.forEach((want, i) => {
        const got = issues[i];
        const where = `issue ${i}: ${JSON.stringify(got)}`;
        expect(got.path, where).to.equal(want.path);
        expect(got.message, where).to.match(want.message);
        if (want.hint === undefined) expect(got.hint, where).to.equal(undefined);
        else expect(got.hint, where).to.be.a('string').and.match(want.hint);
        if (want.line !== undefined) expect(got.line, where).to.equal(want.line);
        if (want.column !== undefined) expect(got.column, where).to.equal(want.column);
      });
      // The formatted message lists every issue with its path (or "(root)").
      const lines = err.message.split('\n');
      expect(lines[0]).to.equal(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the spec`);
      expect(lines.length).to.equal(issues.length + 1);
      issues.forEach((issue, i) => {
        expect(lines[i + 1]).to.include(`: ${issue.path === '' ? '(root)' : issue.path}: ${issue.message}`);
      });
    });
  }
});

describe('gfra validate (CLI)', () => {
  function validate(file: string): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, ['packages/runner/bin/gfra.js', 'validate', file], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, GFRA_DEBUG: '' },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }
  const corpusPath = (name: string) => `packages/runner/test/bad-specs/${name}`;

  it('exits 2 on an unknown plugin, naming the JSON path and the fix, without a stack trace', () => {
    const file = corpusPath('16-unknown-channel-raleigh.json');
    const { status, stdout, stderr } = validate(file);
    expect(status, stderr).to.equal(2);
    expect(stdout).to.equal('');
    expect(stderr).to.include(`error: ${file}: 1 problem in the spec`);
    expect(stderr).to.include(`${file}:8:15: channel.plugin: unknown channel plugin "raleigh". Did you mean "rayleigh"?`);
    expect(stderr).to.not.include('    at ');
  });

  it('exits 2 on invalid JSON, giving line:column', () => {
    const file = corpusPath('01-invalid-json-trailing-comma.json');
    const { status, stderr } = validate(file);
    expect(status, stderr).to.equal(2);
    expect(stderr).to.include(`${file}:19:1: (root): is not valid JSON`);
    expect(stderr).to.not.include('    at ');
  });

  it('exits 2 listing every problem of a spec with several, each with its path', () => {
    const file = corpusPath('55-many-schema-problems.json');
    const { status, stderr } = validate(file);
    expect(status, stderr).to.equal(2);
    expect(stderr).to.include(`${file}: 7 problems in the spec`);
    for (const want of CASES['55-many-schema-problems.json'].issues) expect(stderr).to.include(`: ${want.path}: `);
    expect(stderr).to.not.include('    at ');
  });

  it('exits 2 on a missing plugin module, naming plugins[0]', () => {
    const file = corpusPath('49-plugin-module-missing.json');
    const { status, stderr } = validate(file);
    expect(status, stderr).to.equal(2);
    expect(stderr).to.include(`${file}:19:15: plugins[0]: cannot find module "./no-such-plugin.ts"`);
    expect(stderr).to.not.include('    at ');
  });

  it('exits 0 on examples/quickstart.json', () => {
    const { status, stdout, stderr } = validate('examples/quickstart.json');
    expect(status, stderr).to.equal(0);
    expect(stdout).to.equal('examples/quickstart.json: ok (4 sweep points x 2 candidates = 8 runs)\n');
  });
});

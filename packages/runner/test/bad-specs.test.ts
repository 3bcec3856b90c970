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
import { SpecError, type SpecIssue } from '@gfra/core';
import { loadSpec } from '../src/run';

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

const PIPELINE = 'traffic "bernoulli": activityProbability; encoder "gaussian-pilots": codebook';
const NEEDS_FADING_HINT = exact(
  'Configure the traffic, encoder or channel to provide it (channel "rayleigh" provides largeScaleFading with default parameters), or give "correlation-energy" parameters that do not need it',
);
const NAME_RULE = 'is not a valid name: use letters, digits, ".", "_" and "-", starting with a letter or digit';
const TOP_LEVEL_KEYS = '$schema, candidates, channel, description, encoder, metrics, montecarlo, name, plugins, scenario, seed, sweep, traffic';
const SCENARIO_KEYS = 'numDevices, numAntennas, sequenceLength, bitsPerDevice';
const PLUGIN_PATH_HINT = exact('Give a path relative to the spec file (e.g. "./my-plugin.ts") or an installed package name');
const MISSING_MODULE = /^cannot find module "\.\/no-such-plugin\.ts" \(looked from .*[\\/]test[\\/]bad-specs\)$/;

const CASES: Readonly<Record<string, Case>> = {
  // --- JSON syntax: one issue at the root, with the line and column of the error -----------------
  '01-invalid-json-trailing-comma.json': {
    issues: [
      {
        path: '',
        message: exact('is not valid JSON (Expected double-quoted property name in JSON at position 651)'),
        line: 19,
        column: 1,
      },
    ],
  },
  '02-invalid-json-missing-comma.json': {
    issues: [
      {
        path: '',
        message: exact("is not valid JSON (Expected ',' or '}' after property value in JSON at position 174)"),
        line: 6,
        column: 3,
      },
    ],
  },
  '03-invalid-json-truncated.json': {
    issues: [
      {
        path: '',
        message: exact("is not valid JSON (Expected ',' or '}' after property value in JSON at position 641)"),
        line: 19,
        column: 1,
      },
    ],
  },
  '04-invalid-json-python-true.json': {
    pending:
      'V8 reports "Unexpected token \'T\', ...<source excerpt>... is not valid JSON" with no position: the issue has no line/column and its message embeds a multi-line excerpt of the file',
    issues: [{ path: '', message: /^is not valid JSON \([^\n]*\)$/, line: 8, column: 83 }],
  },
  '05-empty-file.json': {
    pending: 'V8 reports "Unexpected end of JSON input" with no position: the issue has no line/column',
    issues: [{ path: '', message: /^is (empty|not valid JSON)\b[^\n]*$/, line: 1, column: 1 }],
  },
  '06-duplicate-top-level-key.json': {
    pending: 'accepted: JSON.parse keeps the second "sweep" and silently drops the first',
    issues: [{ path: 'sweep', message: /(duplicate|more than once|twice)/, line: 20, column: 3 }],
  },

  // --- top level: required keys, unknown keys, types ---------------------------------------------
  '07-missing-name.json': {
    issues: [{ path: 'name', message: exact('is required (experiment name (letters, digits, . _ -))'), line: 1, column: 1 }],
  },
  '08-missing-required-keys.json': {
    issues: [
      { path: 'seed', message: exact('is required (master seed of every random draw)') },
      { path: 'scenario', message: exact('is required (System sizes, read by every plugin)') },
      {
        path: 'candidates',
        message: exact('is required (methods to compare: each names its detector and may override traffic, channel or encoder)'),
      },
      { path: 'metrics', message: exact('is required (metrics to measure)') },
    ],
  },
  '09-unknown-top-level-senario.json': {
    issues: [
      { path: 'scenario', message: exact('is required (System sizes, read by every plugin)') },
      {
        path: 'senario',
        message: exact('is not a known property'),
        hint: exact(`Did you mean "scenario"? Allowed properties: ${TOP_LEVEL_KEYS}`),
        line: 6,
        column: 3,
      },
    ],
  },
  '10-seed-string.json': {
    issues: [{ path: 'seed', message: exact('must be an integer (got "1234")'), line: 5, column: 3 }],
  },

  // --- scenario -------------------------------------------------------------------------------------
  '11-num-devices-fractional.json': {
    issues: [{ path: 'scenario.numDevices', message: exact('must be an integer (got 10.5)'), line: 6, column: 16 }],
  },
  '12-sequence-length-negative.json': {
    issues: [
      {
        path: 'scenario.sequenceLength',
        message: exact('must be >= 1 (got -5)'),
        hint: exact('This is L: pilot / sequence length, or number of resource elements (NOMA)'),
      },
    ],
  },
  '13-num-antennas-zero.json': {
    issues: [
      { path: 'scenario.numAntennas', message: exact('must be >= 1 (got 0)'), hint: exact('This is M: receive antennas at the base station') },
    ],
  },
  '14-bits-per-device-too-large.json': {
    issues: [
      {
        path: 'scenario.bitsPerDevice',
        message: exact('must be <= 16 (got 20)'),
        hint: exact('This is J: bits an active device embeds per block (Q = 2^J sequences per device); 0 = activity only'),
      },
    ],
  },

  // --- unknown plugin names, in every slot ------------------------------------------------------
  '15-unknown-traffic-bernouli.json': {
    issues: [
      {
        path: 'traffic.plugin',
        message: exact('unknown traffic plugin "bernouli"'),
        hint: exact('Did you mean "bernoulli"? Available: bernoulli, fixed-count. Run `gfra list traffic` for details'),
        line: 7,
        column: 15,
      },
    ],
  },
  '16-unknown-channel-raleigh.json': {
    issues: [
      {
        path: 'channel.plugin',
        message: exact('unknown channel plugin "raleigh"'),
        hint: exact('Did you mean "rayleigh"? Available: rayleigh. Run `gfra list channel` for details'),
      },
    ],
  },
  '17-unknown-encoder-gaussian-pilot.json': {
    issues: [
      {
        path: 'encoder.plugin',
        message: exact('unknown encoder plugin "gaussian-pilot"'),
        hint: exact('Did you mean "gaussian-pilots"? Available: gaussian-pilots. Run `gfra list encoder` for details'),
      },
    ],
  },
  '18-unknown-detector-corelation-energy.json': {
    issues: [
      {
        path: 'candidates.energy.detector.plugin',
        message: exact('unknown detector plugin "corelation-energy"'),
        hint: exact('Did you mean "correlation-energy"? Available: correlation-energy. Run `gfra list detector` for details'),
      },
    ],
  },
  '19-unknown-metric-activty.json': {
    issues: [
      {
        path: 'metrics[0].plugin',
        message: exact('unknown metric plugin "activty"'),
        hint: exact('Did you mean "activity"? Available: activity, ser. Run `gfra list metric` for details'),
      },
    ],
  },

  // --- plugin parameters ------------------------------------------------------------------------
  '20-unknown-param-snrdB.json': {
    issues: [
      {
        path: 'channel.params.snrdB',
        message: exact('is not a known property'),
        hint: exact('Did you mean "snrDb"? Allowed properties: knownLargeScaleFading, knownNoiseVariance, noiseVar, snrDb'),
      },
    ],
  },
  '21-activity-prob-above-one.json': {
    issues: [
      {
        path: 'traffic.params.activityProb',
        message: exact('must be <= 1 (got 1.5)'),
        hint: exact('This is epsilon: probability that a device is active in a block'),
      },
    ],
  },
  '22-activity-prob-zero.json': {
    issues: [
      {
        path: 'traffic.params.activityProb',
        message: exact('must be > 0 (got 0)'),
        hint: exact('This is epsilon: probability that a device is active in a block'),
      },
    ],
  },
  '23-false-alarm-one.json': {
    issues: [
      {
        path: 'candidates.energy.detector.params.threshold.falseAlarm',
        message: exact('must be < 1 (got 1)'),
        hint: exact('This is target per-device false-alarm probability'),
      },
    ],
  },
  '24-threshold-rule-bogus.json': {
    issues: [
      {
        path: 'candidates.energy.detector.params.threshold.rule',
        message: exact('must be one of "false-alarm", "midpoint", "fixed" (got "bogus")'),
        line: 14,
        column: 34,
      },
    ],
  },
  '25-threshold-fixed-missing-value.json': {
    issues: [
      { path: 'candidates.energy.detector.params.threshold.value', message: exact('is required (threshold on the normalised energy)') },
    ],
  },
  '26-threshold-rule-typo.json': {
    issues: [
      {
        path: 'candidates.energy.detector.params.threshold.rule',
        message: exact('must be one of "false-alarm", "midpoint", "fixed" (got "midpiont")'),
        hint: exact('Did you mean "midpoint"?'),
      },
    ],
  },
  '27-threshold-rule-missing.json': {
    issues: [
      { path: 'candidates.energy.detector.params.threshold.rule', message: exact('is required (one of "false-alarm", "midpoint", "fixed")') },
    ],
  },
  '28-noise-level-typo.json': {
    pending:
      'the union\'s description is pasted after "must be": "must be Reference level v0 of an inactive device\'s energy: ... (got "knwon")", and no "Did you mean"',
    issues: [
      {
        path: 'candidates.energy.detector.params.noiseLevel',
        message: exact('must be one of "estimated", "known" (got "knwon")'),
        hint: /^Did you mean "known"\?/,
      },
    ],
  },
  '29-snr-range-min-above-max.json': {
    issues: [{ path: 'channel.params.snrDb', message: exact('min (20 dB) must be <= max (0 dB)') }],
  },
  '30-snr-db-string.json': {
    pending: 'the union\'s description is pasted after "must be": "must be Per-device SNR beta_n / sigma^2 in dB: a number (all devices), or ... (got "10dB")"',
    issues: [{ path: 'channel.params.snrDb', message: /^must be a number or an object\b.*\(got "10dB"\)$/, hint: /Per-device SNR/ }],
  },
  '31-snr-range-missing-max.json': {
    pending:
      'the object branch of the snrDb union was chosen but its errors are dropped: the message is the generic "must be Per-device SNR ... (got {"min":0})" instead of "max is required"',
    issues: [{ path: 'channel.params.snrDb.max', message: exact('is required (highest per-device SNR, dB)') }],
  },
  '32-fixed-count-too-many-active.json': {
    issues: [{ path: 'traffic.params.numActive', message: exact('must be <= scenario.numDevices = 20 (got 30)'), line: 7, column: 51 }],
  },

  // --- candidates and metrics -------------------------------------------------------------------
  '33-empty-candidates.json': {
    issues: [{ path: 'candidates', message: exact('must have at least 1 entry') }],
  },
  '34-candidate-name-with-spaces.json': {
    issues: [{ path: 'candidates', message: exact(`"energy detector" ${NAME_RULE}`) }],
  },
  '35-candidate-missing-detector.json': {
    issues: [{ path: 'candidates.energy.detector', message: exact('is required (A detector plugin: { "plugin": name, "params": {...} })') }],
  },
  '36-empty-metrics.json': {
    issues: [{ path: 'metrics', message: exact('must have at least 1 item') }],
  },

  // --- sweep ----------------------------------------------------------------------------------------
  '37-sweep-path-typo.json': {
    pending:
      'no "Did you mean" for seqLength -> sequenceLength (nearest() rejects it: edit distance 5 > limit 4), and the hint then starts with a space: " (keys under "scenario": ...)"',
    issues: [
      {
        path: 'sweep["scenario.seqLength"]',
        message: exact('path "scenario.seqLength" does not exist in the spec ("seqLength" not found under "scenario")'),
        hint: exact(`Did you mean "sequenceLength"? (keys under "scenario": ${SCENARIO_KEYS})`),
      },
    ],
  },
  '38-sweep-value-invalid.json': {
    issues: [
      {
        path: 'sweep["scenario.sequenceLength"][1]',
        message: exact('value for scenario.sequenceLength must be >= 1 (got 0)'),
        hint: exact('This is L: pilot / sequence length, or number of resource elements (NOMA)'),
        line: 19,
        column: 45,
      },
    ],
  },
  '39-coupled-sweep-wrong-tuple-length.json': {
    issues: [
      {
        path: 'sweep["scenario.numDevices, traffic.params.numActive"][1]',
        message: exact('must be a list of 2 values (one per path of "scenario.numDevices, traffic.params.numActive"), got [40,4,8]'),
      },
    ],
  },
  '40-sweep-reserved-root-name.json': {
    issues: [
      {
        path: 'sweep.name',
        message: exact('cannot sweep "name"'),
        hint: exact('Sweep scenario sizes, plugin params, seed, candidates or montecarlo settings'),
      },
    ],
  },
  '41-sweep-empty-list.json': {
    issues: [{ path: 'sweep["scenario.sequenceLength"]', message: exact('must have at least 1 item') }],
  },
  '42-sweep-same-path-twice.json': {
    pending:
      'accepted: scenario.numDevices is set by two sweep keys; the coupled key silently overrides the first, giving 4 points of which 2 are duplicates',
    issues: [
      {
        path: 'sweep["scenario.numDevices, traffic.params.numActive"]',
        message: /"scenario\.numDevices" .*(also|more than one|twice)/,
      },
    ],
  },

  // --- capabilities -----------------------------------------------------------------------------
  '43-capability-midpoint-without-fading.json': {
    issues: [
      {
        path: 'candidates.energy.detector',
        message: exact(
          `candidate "energy": detector "correlation-energy" needs largeScaleFading, which nothing upstream provides (${PIPELINE}; channel "rayleigh": noiseVariance)`,
        ),
        hint: NEEDS_FADING_HINT,
      },
    ],
  },
  '44-capability-known-noise-without-variance.json': {
    issues: [
      {
        path: 'candidates.energy.detector',
        message: exact(
          `candidate "energy": detector "correlation-energy" needs noiseVariance, which nothing upstream provides (${PIPELINE}; channel "rayleigh": largeScaleFading)`,
        ),
        hint: exact(
          'Configure the traffic, encoder or channel to provide it (channel "rayleigh" provides noiseVariance with default parameters), or give "correlation-energy" parameters that do not need it',
        ),
      },
    ],
  },
  '45-capability-candidate-channel-override.json': {
    pending:
      'the message says channel "rayleigh" provides only noiseVariance but not that this is the candidate\'s own channel (candidates.energy-midpoint.channel); the top-level channel, also "rayleigh", does provide largeScaleFading',
    issues: [
      {
        path: 'candidates.energy-midpoint.detector',
        message:
          /^candidate "energy-midpoint": detector "correlation-energy" needs largeScaleFading, which nothing upstream provides \(.*candidates\.energy-midpoint\.channel.*\)$/,
        hint: NEEDS_FADING_HINT,
      },
    ],
  },
  '46-capability-at-one-sweep-point.json': {
    issues: [
      {
        path: 'candidates.energy.detector',
        message: exact(
          `candidate "energy": detector "correlation-energy" needs largeScaleFading, which nothing upstream provides (${PIPELINE}; channel "rayleigh": noiseVariance) (at sweep point knownLargeScaleFading=false)`,
        ),
        hint: NEEDS_FADING_HINT,
      },
    ],
  },

  // --- montecarlo -------------------------------------------------------------------------------
  '47-montecarlo-confidence-and-batch-size.json': {
    issues: [
      { path: 'montecarlo.batchSize', message: exact('must be >= 1 (got 0)'), hint: exact('This is trials simulated together in one batch (B)') },
      {
        path: 'montecarlo.confidence',
        message: exact('must be < 1 (got 1.2)'),
        hint: exact('This is two-sided confidence level of the reported intervals'),
      },
    ],
  },
  '48-montecarlo-unknown-key.json': {
    issues: [
      {
        path: 'montecarlo.maxTrial',
        message: exact('is not a known property'),
        hint: exact('Did you mean "maxTrials"? Allowed properties: batchSize, commonRandomNumbers, confidence, maxSeconds, maxTrials, targetEvents'),
      },
    ],
  },

  // --- plugins ----------------------------------------------------------------------------------
  '49-plugin-module-missing.json': {
    issues: [{ path: 'plugins[0]', message: MISSING_MODULE, hint: PLUGIN_PATH_HINT }],
  },
  '50-plugins-not-a-list.json': {
    issues: [{ path: 'plugins', message: exact('must be a list of module paths or package names') }],
  },
  '51-plugin-module-missing-and-other-errors.json': {
    pending: 'loadSpec stops at the missing plugin module: only plugins[0] is reported, the bad seed and the unknown metric are not',
    issues: [
      { path: 'seed', message: exact('must be an integer (got "1")') },
      { path: 'metrics[0].plugin', message: exact('unknown metric plugin "activty"'), hint: /^Did you mean "activity"\?/ },
      { path: 'plugins[0]', message: MISSING_MODULE, hint: PLUGIN_PATH_HINT },
    ],
  },

  // --- other single problems --------------------------------------------------------------------
  '52-bad-experiment-name.json': {
    issues: [{ path: 'name', message: exact(`"my experiment/v2" ${NAME_RULE}`), line: 3, column: 3 }],
  },
  '53-params-not-object.json': {
    issues: [{ path: 'channel.params', message: exact('must be an object (got 10)') }],
  },
  '54-duplicate-metric.json': {
    issues: ['pmd', 'pfa', 'pmd+pfa'].map((stat) => ({
      path: 'metrics[1]',
      message: exact(`statistic "${stat}" is also produced by metrics[0]`),
      hint: exact('List each metric once'),
    })),
  },

  // --- several problems at once: all are reported together ---------------------------------------
  '55-many-schema-problems.json': {
    issues: [
      { path: 'seed', message: exact('must be >= 0 (got -1)'), hint: exact('This is master seed of every random draw') },
      { path: 'scenario.numDevices', message: exact('must be >= 1 (got 0)'), hint: exact('This is N: number of devices (users)') },
      {
        path: 'scenario.numActive',
        message: exact('is not a known property'),
        hint: exact('Allowed properties: bitsPerDevice, numAntennas, numDevices, sequenceLength'),
      },
      {
        path: 'traffic.params.activityProb',
        message: exact('must be <= 1 (got 2)'),
        hint: exact('This is epsilon: probability that a device is active in a block'),
      },
      {
        path: 'channel.plugin',
        message: exact('unknown channel plugin "raleigh"'),
        hint: exact('Did you mean "rayleigh"? Available: rayleigh. Run `gfra list channel` for details'),
      },
      {
        path: 'candidates.energy.detector.params.threshold.value',
        message: exact('must be >= 0 (got -1)'),
        hint: exact('This is threshold on the normalised energy'),
      },
      {
        path: 'metrics[1].plugin',
        message: exact('unknown metric plugin "bler"'),
        hint: exact('Did you mean "ser"? Available: activity, ser. Run `gfra list metric` for details'),
      },
    ],
  },
  '56-many-semantic-problems.json': {
    issues: [
      {
        path: 'sweep["channel.params.snr"]',
        message: exact('path "channel.params.snr" does not exist in the spec ("snr" not found under "channel.params")'),
        hint: exact('Did you mean "snrDb"? (keys under "channel.params": snrDb, noiseVar, knownNoiseVariance, knownLargeScaleFading)'),
      },
      {
        path: 'sweep.description',
        message: exact('cannot sweep "description"'),
        hint: exact('Sweep scenario sizes, plugin params, seed, candidates or montecarlo settings'),
      },
      {
        path: 'sweep["scenario.numDevices, traffic.params.numActive"][1]',
        message: exact('must be a list of 2 values (one per path of "scenario.numDevices, traffic.params.numActive"), got 40'),
      },
    ],
  },
  '57-many-check-problems.json': {
    issues: [
      { path: 'traffic.params.numActive', message: exact('must be <= scenario.numDevices = 20 (got 30)') },
      { path: 'channel.params.snrDb', message: exact('min (5 dB) must be <= max (-5 dB)') },
      {
        path: 'candidates.energy.detector',
        message: exact(
          'candidate "energy": detector "correlation-energy" needs largeScaleFading, which nothing upstream provides (traffic "fixed-count": activityProbability; encoder "gaussian-pilots": codebook; channel "rayleigh": noiseVariance)',
        ),
        hint: NEEDS_FADING_HINT,
      },
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
    expect(stderr).to.include(`${file}: plugins[0]: cannot find module "./no-such-plugin.ts"`);
    expect(stderr).to.not.include('    at ');
  });

  it('exits 0 on examples/quickstart.json', () => {
    const { status, stdout, stderr } = validate('examples/quickstart.json');
    expect(status, stderr).to.equal(0);
    expect(stdout).to.equal('examples/quickstart.json: ok (4 sweep points x 2 candidates = 8 runs)\n');
  });
});

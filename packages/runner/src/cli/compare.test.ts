import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../cli';
import { planObject } from '../plan/load';
import type { ResultsFile } from '../results/format';
import { readResults } from '../results/read';
import { plotRuns } from '../plot/rows';
import { buildReport, compareSection, runComparisons } from '../report';
import { runSpec } from '../run';
import { compareRows, compareRun, formatCompare, pairingProblem, type CompareRow } from './compare';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const QUICKSTART = path.join(ROOT, 'examples', 'quickstart.json');

/**
 * How the spec asks for shared or independent draws. Shared is the default of `montecarlo.draws`;
 * before it existed this was `{ commonRandomNumbers: true }` / `{ commonRandomNumbers: false }`.
 */
const SHARED_DRAWS: Record<string, unknown> = {};
const INDEPENDENT_DRAWS: Record<string, unknown> = { draws: 'independent' };

/**
 * The quick start shrunk: two pilot lengths, 400 trials per job (the event target out of reach and
 * the default time limit far away, so every job runs exactly 400 trials whatever the speed).
 */
function quickstart(draws: Record<string, unknown>, sweep: unknown[] = [10, 20]): Record<string, unknown> {
  const spec = JSON.parse(fs.readFileSync(QUICKSTART, 'utf8')) as Record<string, unknown>;
  delete spec.$schema;
  return {
    ...spec,
    sweep: { 'scenario.sequenceLength': sweep },
    montecarlo: { batchSize: 100, targetEvents: 1000000, maxTrials: 400, ...draws },
  };
}

/** Temporary folders of this suite, removed after it. */
const scratch: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-compare-'));
  scratch.push(dir);
  return dir;
}

async function run(spec: Record<string, unknown>): Promise<string> {
  const dir = tempDir();
  await runSpec(planObject(spec, path.join(dir, 'spec.json')), { out: path.join(dir, 'out') });
  return path.join(dir, 'out');
}

const width = (i: { low: number | null; high: number | null }) => (i.high as number) - (i.low as number);

describe('gfra compare', function () {
  this.timeout(300000);
  let shared: string;
  let rows: CompareRow[];

  after(() => scratch.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
  before(async () => {
    shared = await run(quickstart(SHARED_DRAWS));
    rows = await compareRun(shared, { candidates: ['energy-fa', 'energy-midpoint'] });
  });

  it('pairs energy-fa and energy-midpoint on shared draws: the paired interval is strictly narrower', () => {
    const pmd = rows.filter((r) => r.statistic === 'pmd');
    expect(pmd.map((r) => r.point['scenario.sequenceLength'])).to.deep.equal([10, 20]);
    const results = (JSON.parse(fs.readFileSync(path.join(shared, 'results.json'), 'utf8')) as ResultsFile).results;
    for (const row of pmd) {
      expect(row.repetition).to.equal(0);
      expect(row.trials).to.equal(400);
      // With no trial skipped and both jobs at 400 trials, A and B are exactly the values the
      // accumulators reported (the same sums, in the same trial order).
      const of = (c: string) => results.find((r) => r.candidate === c && r.point['scenario.sequenceLength'] === row.point['scenario.sequenceLength'])?.metrics.pmd.value;
      expect(row.a).to.equal(of('energy-fa'));
      expect(row.b).to.equal(of('energy-midpoint'));
      // Why strictly narrower: both candidates threshold the same correlation energies of the same
      // trials (shared activity, pilots, fading and noise), one threshold above the other, so the
      // misses of one are a subset of the other's on every trial and their per-trial terms are
      // positively correlated. Both intervals use the same T and t quantile, so
      // paired^2 = unpaired^2 - 2 t^2 Cov(z_A, z_B)/T < unpaired^2.
      expect(width(row.paired)).to.be.greaterThan(0);
      expect(width(row.paired)).to.be.lessThan(width(row.unpaired));
    }
    // Every statistic by default, rate-sum included.
    expect([...new Set(rows.map((r) => r.statistic))]).to.deep.equal(['pmd', 'pfa', 'pmd+pfa']);
    const sum = rows.find((r) => r.statistic === 'pmd+pfa') as CompareRow;
    const parts = rows.filter((r) => r.point['scenario.sequenceLength'] === sum.point['scenario.sequenceLength'] && r.statistic !== 'pmd+pfa');
    expect(sum.difference).to.be.closeTo(parts.reduce((s, r) => s + (r.difference as number), 0), 1e-12);
  });

  it('with repetitions: one row per repetition, then their mean with a t-interval over repetitions', async () => {
    const out = await run({ ...quickstart(SHARED_DRAWS, [10]), montecarlo: { batchSize: 100, targetEvents: 1000000, maxTrials: 200, repetitions: 3, ...SHARED_DRAWS } });
    const pmd = (await compareRun(out, { candidates: ['energy-fa', 'energy-midpoint'], metrics: ['pmd'] })).filter((r) => r.statistic === 'pmd');
    expect(pmd.map((r) => r.repetition)).to.deep.equal([0, 1, 2, 'pooled']);
    const [r0, r1, r2, pooled] = pmd;
    expect(pooled.trials).to.equal(600);
    // The pooled difference is the mean of the three (the same sums in another order: 1e-12).
    expect(pooled.difference).to.be.closeTo(((r0.difference as number) + (r1.difference as number) + (r2.difference as number)) / 3, 1e-12);
    expect(pooled.paired.low).to.be.lessThan(pooled.difference as number);
    expect(formatCompare(pmd)).to.match(/sequenceLength=10\s+pooled\s+600\s/);
    // Display labels name the columns and the title; the rows are the same.
    const labelled = formatCompare(pmd, { 'energy-fa': 'FA 5 %' }).split('\n');
    expect(labelled[0]).to.match(/^pmd: FA 5 % − energy-midpoint on common trials/);
    expect(labelled[1]).to.match(/\sFA 5 %\s+energy-midpoint\s+FA 5 % − energy-midpoint\s/);
  });

  it('prints one table per statistic through the CLI', async () => {
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => printed.push(String(chunk)) > 0) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main(['compare', shared, '--candidates', 'energy-fa', 'energy-midpoint', '--metric', 'pmd']);
    } finally {
      process.stdout.write = write;
    }
    expect(code).to.equal(0);
    const text = printed.join('');
    expect(text).to.equal(`${formatCompare(rows.filter((r) => r.statistic === 'pmd'))}\n`);
    expect(text).to.match(/^pmd: energy-fa − energy-midpoint/);
    expect(text).to.match(/sequenceLength=10\s+0\s+400\s/);
  });

  it('refuses candidates that did not share their draws, saying why and how to fix it', async () => {
    const independent = await run(quickstart(INDEPENDENT_DRAWS, [10]));
    let message = '';
    await compareRun(independent, { candidates: ['energy-fa', 'energy-midpoint'] }).catch((err: Error) => (message = err.message));
    expect(message).to.match(/candidates "energy-fa" and "energy-midpoint" did not see the same trials at sequenceLength=10: montecarlo\.draws is "independent" \(each candidate has its own streams\); rerun with "draws": "shared"/);
  });

  it('refuses different traffic or channel configurations (encoders and detectors may differ)', () => {
    const spec = quickstart(SHARED_DRAWS, [10]);
    const candidates = spec.candidates as Record<string, Record<string, unknown>>;
    candidates['energy-midpoint'] = { ...candidates['energy-midpoint'], channel: { plugin: 'rayleigh', params: { snrDb: 5 } } };
    candidates['energy-fa'] = { ...candidates['energy-fa'], encoder: { plugin: 'gaussian-pilots', params: { normalize: false } } };
    const resolved = planObject(spec, 'spec.json').validated.spec;
    expect(pairingProblem(resolved, { 'scenario.sequenceLength': 10 }, 'energy-fa', 'energy-midpoint')).to.match(
      /did not see the same trials at sequenceLength=10: they use different channel configurations \("energy-fa": rayleigh \{"snrDb":10.*\}; "energy-midpoint": rayleigh \{"snrDb":5.*\}\)/,
    );
    candidates['energy-midpoint'] = { ...candidates['energy-midpoint'], channel: spec.channel as Record<string, unknown> };
    const same = planObject(spec, 'spec.json').validated.spec;
    expect(pairingProblem(same, { 'scenario.sequenceLength': 10 }, 'energy-fa', 'energy-midpoint')).to.equal(undefined);
  });

  it('refuses results written with independent streams before montecarlo.draws existed', () => {
    const spec = planObject(quickstart(SHARED_DRAWS, [10]), 'spec.json').validated.spec;
    const { draws: _draws, ...old } = spec.montecarlo as Record<string, unknown>;
    const legacy = (mc: Record<string, unknown>) => ({ ...spec, montecarlo: mc }) as typeof spec;
    expect(pairingProblem(legacy(old), {}, 'energy-fa', 'energy-midpoint')).to.match(/commonRandomNumbers is not set .*each candidate had its own streams/);
    expect(pairingProblem(legacy({ ...old, commonRandomNumbers: false }), {}, 'energy-fa', 'energy-midpoint')).to.match(/commonRandomNumbers is false/);
    expect(pairingProblem(legacy({ ...old, commonRandomNumbers: true }), {}, 'energy-fa', 'energy-midpoint')).to.equal(undefined);
  });

  it('refuses unknown candidates and statistics, A = B, and a folder without a results store', async () => {
    const results = JSON.parse(fs.readFileSync(path.join(shared, 'results.json'), 'utf8')) as ResultsFile;
    const none = new Map();
    expect(() => compareRows(results, none, { candidates: ['energy-fa', 'energy'] })).to.throw(/Unknown candidate "energy"\. The run has: energy-fa, energy-midpoint/);
    expect(() => compareRows(results, none, { candidates: ['energy-fa', 'energy-fa'] })).to.throw(/names "energy-fa" twice/);
    let message = '';
    await compareRun(shared, { candidates: ['energy-fa', 'energy-midpoint'], metrics: ['nmse'] }).catch((err: Error) => (message = err.message));
    expect(message).to.match(/Unknown statistic "nmse"\. The results have: pmd, pfa, pmd\+pfa/);
    const bare = tempDir();
    fs.copyFileSync(path.join(shared, 'results.json'), path.join(bare, 'results.json'));
    message = '';
    await compareRun(bare, { candidates: ['energy-fa', 'energy-midpoint'] }).catch((err: Error) => (message = err.message));
    expect(message).to.match(/has no results store \(results\.duckdb\)/);
  });

  it('the report shows the same tables, and says why a run without a results store has none', async () => {
    const bare = tempDir();
    fs.copyFileSync(path.join(shared, 'results.json'), path.join(bare, 'results.json'));
    const comparisons = await runComparisons([shared, bare]);
    expect(comparisons).to.have.length(2);
    const [withStore, without] = comparisons ?? [];
    expect(withStore.pairs).to.have.length(1);
    expect(withStore.pairs[0].rows).to.deep.equal(rows);
    expect(without.pairs).to.have.length(0);
    expect(without.skipped).to.match(/no paired comparison: .*has no results store/);
    const html = compareSection(comparisons ?? []);
    expect(html.match(/<table class="compare">/g)).to.have.length(3); // pmd, pfa, pmd+pfa
    expect(html).to.include('<td>sequenceLength=10</td><td>0</td><td>400</td>');
    const report = buildReport(plotRuns([readResults(shared)]), new Date(0), comparisons?.slice(0, 1));
    expect(report).to.include('<section id="compare"><h2>Paired comparisons</h2>');
    expect(report).to.include('<a href="#compare">compare</a>');
  });
});

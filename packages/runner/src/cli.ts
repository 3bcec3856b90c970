/**
 * The `gfra` command line: run, results, compare, train, export, validate, list, schema, plot, report.
 *
 * Exit status: 0 success, 2 a user error (bad spec, unknown plugin, missing file, unusable --out,
 * an output folder another run holds; printed without a stack trace), 1 an internal error, 130
 * interrupted (results so far are kept, and a rerun resumes from the results store).
 * `gfra run` records a job that throws in results.json (`failures`) and runs the others; it then
 * exits 2 when every failure was a user error (a plugin's error, a bad artifact), 1 when one was
 * internal, with a summary of the failures.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { BackendChoice, PluginKind } from '@gfra/core';

// Commands load what they need when they run (`await import`), so that `gfra --help` and
// argument errors do not pay for tfjs and every plugin. The choices below are checked against
// @gfra/core's BACKEND_CHOICES and PLUGIN_KINDS by the CLI test.
/** `--backend` values (as @gfra/core's BACKEND_CHOICES). */
export const CLI_BACKENDS: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];
/** Plugin kinds (as @gfra/core's PLUGIN_KINDS). */
export const CLI_KINDS: readonly PluginKind[] = ['traffic', 'channel', 'encoder', 'detector', 'metric'];
/** `--artifacts` default (as train/train.ts's DEFAULT_ARTIFACTS_DIR). */
const ARTIFACTS_DIR = path.join('.gfra', 'artifacts');

/** A user error, raised before @gfra/core is loaded (printed like its GfraUserError). */
class CliUserError extends Error {
  override readonly name = 'GfraUserError';
}

class Interrupted extends Error {}

/** Some jobs of a run failed (the others were run and saved): print `message`, exit with `code`. */
class JobsFailed extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** A word of a command line as a POSIX shell reads it. */
/** `--workers`: `auto` or a number (checked by runSpec, which knows the jobs). */
function parseWorkers(value: string): number | 'auto' {
  const v = value.trim();
  if (v.toLowerCase() === 'auto') return 'auto';
  return Number(v === '' ? Number.NaN : v);
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** `gfra --version`: gfra's version, the git commit of its checkout (when it is one), Node.js and tfjs. */
function versionText(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const gfra = (require('../package.json') as { version: string }).version;
  let tfjs = 'unknown';
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    tfjs = (require('@tensorflow/tfjs/package.json') as { version: string }).version;
  } catch {
    // not installed: said as unknown
  }
  const head = spawnSync('git', ['-C', path.join(__dirname, '..', '..', '..'), 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', timeout: 5000 });
  const commit = head.status === 0 ? ` (commit ${head.stdout.trim()})` : '';
  return `gfra ${gfra}${commit}, Node.js ${process.version}, tfjs ${tfjs}`;
}

function program(): Command {
  const cli = new Command('gfra')
    .description('gfra: grant-free random access research framework')
    .version(versionText(), '-V, --version', 'print the gfra version (and git commit), Node.js and tfjs versions')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  cli
    .command('run')
    .description('validate and run a spec; print a results table and write DIR/results.json')
    .argument('<spec>', 'spec file (JSON)')
    .option('--out <dir>', 'output directory (default: runs/<spec name>)')
    .addOption(new Option('--backend <backend>', 'compute backend').choices([...CLI_BACKENDS]).default('auto'))
    .option('--candidate <name...>', 'run only these candidates')
    .addOption(
      new Option('--executor <executor>', 'where the jobs run: inline (this thread), pool (worker threads, --workers), bullmq (gfra worker processes on any machine, through --redis)').choices([
        'inline',
        'pool',
        'bullmq',
      ]),
    )
    .option('--workers <n>', 'worker threads for the jobs: a number, or auto (the default: one per core when the run has 2 or more jobs and 2000 or more trials planned, else this thread); 1 runs them in this thread', parseWorkers)
    .option('--redis <url>', 'with --executor bullmq: the Redis server the workers connect to (redis://host:port[/db])')
    .option('--quiet', 'no progress output')
    .option('--no-plot', 'do not write the default figures (SVG and PNG) next to results.json')
    .option('--retrain', 'train the trained candidates again, even when their artifacts exist')
    .option('--artifacts <dir>', `trained artifacts directory (default: ${ARTIFACTS_DIR})`)
    .option('--wait', 'when another run is writing to the output folder, wait for it to end (default: refuse)')
    .action(
      async (
        specFile: string,
        opts: { out?: string; backend: BackendChoice; candidate?: string[]; executor?: 'inline' | 'pool' | 'bullmq'; workers?: number | 'auto'; redis?: string; quiet?: boolean; plot?: boolean; retrain?: boolean; artifacts?: string; wait?: boolean },
      ) => {
      // A first line at once: loading tfjs and the plugins takes a moment.
      if (opts.quiet !== true) process.stderr.write(`gfra run ${specFile}: validating and planning\n`);
      const { loadSpec } = await import('./plan/load');
      const { runSpec } = await import('./run');
      const { progressSink } = await import('./cli/progress');
      const { trainingSink } = await import('./cli/train-progress');
      const { candidateLabels, failureLine, formatTable, skippedLines } = await import('./results/format');
      const loaded = loadSpec(specFile);
      const quiet = opts.quiet === true;
      const { formatSpecIssue } = await import('@gfra/core');
      // Printed even with --quiet: a swept value that may not apply where the user expects.
      for (const w of loaded.validated.warnings ?? []) process.stderr.write(`warning: ${formatSpecIssue(specFile, w)}\n`);
      const sink = progressSink({ quiet, labels: candidateLabels(loaded.validated.spec) });
      const training = trainingSink({ quiet });
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts += 1;
        if (interrupts > 1) {
          // results.json is only ever replaced by a rename, so quitting now never tears it.
          process.stderr.write('\ninterrupted again: quitting now (results.json is left whole: it holds what was saved before)\n');
          process.exit(130);
        }
        process.stderr.write('\ninterrupted: finishing the current batch and saving results (Ctrl-C again to quit now)\n');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const run = await runSpec(loaded, {
          out: opts.out,
          backend: opts.backend,
          candidates: opts.candidate,
          workers: opts.workers ?? (opts.executor === undefined ? 'auto' : undefined),
          executor: opts.executor,
          redis: opts.redis,
          onProgress: (event) => {
            if (event.type === 'note' && !quiet) process.stderr.write(`${event.message}\n`);
            sink.onProgress(event);
          },
          signal: controller.signal,
          retrain: opts.retrain,
          artifacts: opts.artifacts,
          onTraining: training.onTraining,
          wait: opts.wait,
        });
        sink.done();
        const { results, failures = [], pooled = [] } = run.results;
        if (!quiet) process.stderr.write(`backend: ${run.backend.backend} (${run.backend.provider})\n`);
        out(formatTable(results, failures, pooled, { labels: candidateLabels(run.results.spec) }));
        const skipped = skippedLines(results);
        if (skipped.length > 0) out(`\n${skipped.join('\n')}`);
        const total = loaded.jobs.filter((j) => opts.candidate === undefined || opts.candidate.includes(j.candidate)).length;
        if (run.written) out(`\nresults: ${run.resultsFile}`);
        else out(`\nresults: none written; ${run.resultsFile} of an earlier run is kept as it was`);
        const interrupted = controller.signal.aborted;
        if (interrupted) {
          // This run's candidates (results.json also holds the others' results from the store).
          const mine = results.filter((r) => opts.candidate === undefined || opts.candidate.includes(r.candidate));
          const finished = mine.filter((r) => r.stop !== 'interrupted').length;
          const stopped = mine.length - finished;
          const rerun = ['gfra', 'run', specFile, '--out', path.dirname(run.resultsFile)];
          if (opts.backend !== 'auto') rerun.push('--backend', opts.backend);
          if (opts.candidate !== undefined) rerun.push('--candidate', ...opts.candidate);
          if (opts.executor !== undefined) rerun.push('--executor', opts.executor);
          if (opts.workers !== undefined && opts.workers !== 'auto') rerun.push('--workers', String(opts.workers));
          if (opts.redis !== undefined) rerun.push('--redis', opts.redis);
          if (opts.artifacts !== undefined) rerun.push('--artifacts', opts.artifacts);
          if (quiet) rerun.push('--quiet');
          if (opts.plot === false) rerun.push('--no-plot');
          if (opts.wait === true) rerun.push('--wait');
          process.stderr.write(
            `interrupted: ${finished} of ${total} jobs finished${stopped > 0 ? `, ${stopped} stopped at a batch boundary (stop "interrupted")` : ''}; ` +
              `${run.written ? `saved in ${run.resultsFile} with "complete": false` : 'nothing saved'}. No figures were drawn (gfra plot draws them from results.json).\n` +
              `Run it again to resume where it stopped: ${rerun.map(shellWord).join(' ')}\n`,
          );
          throw new Interrupted();
        }
        if (opts.plot !== false && run.written) await writeRunFigures(run.resultsFile);
        if (failures.length > 0) {
          const internal = failures.some((f) => f.internal === true);
          const lines = failures.map((f) => `  - ${failureLine(f)}${f.internal === true ? ' (an internal error: please report it)' : ''}`);
          const saved = run.written ? `the other results are in ${run.resultsFile}, the failures under "failures"` : `no job succeeded; ${run.resultsFile} of an earlier run is kept`;
          throw new JobsFailed(`${failures.length} of ${total} job${total === 1 ? '' : 's'} failed (${saved}):\n${lines.join('\n')}`, internal ? 1 : 2);
        }
      } finally {
        sink.done();
        training.done();
        process.off('SIGINT', onSigint);
      }
      },
    );

  cli
    .command('worker')
    .description('run batches for `gfra run --executor bullmq` coordinators through Redis, on this machine, until stopped (Ctrl-C / SIGTERM finish the batch in progress)')
    .requiredOption('--redis <url>', 'the Redis server of the coordinators (redis://host:port[/db])')
    .addOption(new Option('--backend <backend>', 'compute backend').choices([...CLI_BACKENDS]).default('auto'))
    .option('--cache <dir>', 'folder for the trained artifacts downloaded from Redis (default: ~/.cache/gfra/artifacts)')
    .option('--lock-seconds <s>', 'seconds a batch may run before the queue gives it to another worker; also how long a killed worker\'s batch waits to be retried (default 60)', (v) => Number(v.trim() === '' ? Number.NaN : v))
    .option('--idle-exit <s>', 'exit after this many seconds without a run to serve (for job arrays; default: never)', (v) => Number(v.trim() === '' ? Number.NaN : v))
    .action(async (opts: { redis: string; backend: BackendChoice; cache?: string; lockSeconds?: number; idleExit?: number }) => {
      const positive = (name: string, v: number | undefined) => {
        if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new CliUserError(`${name} must be a positive number of seconds (got ${Number.isNaN(v) ? 'not a number' : v})`);
      };
      positive('--lock-seconds', opts.lockSeconds);
      positive('--idle-exit', opts.idleExit);
      const { serveWorker } = await import('./distributed/worker');
      const { defaultArtifactCache } = await import('./distributed/artifacts');
      const controller = new AbortController();
      let signals = 0;
      const onSignal = () => {
        signals += 1;
        if (signals > 1) {
          process.stderr.write('\nstopping now (the batch in progress goes back to the queue when its lock expires)\n');
          process.exit(130);
        }
        process.stderr.write('\nstopping after the batch in progress (Ctrl-C again to stop now)\n');
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await serveWorker({
          redis: opts.redis,
          backend: opts.backend,
          cache: opts.cache ?? defaultArtifactCache(),
          lockSeconds: opts.lockSeconds ?? 60,
          idleExitSeconds: opts.idleExit,
          signal: controller.signal,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });

  const results = cli
    .command('results')
    .description('what the results store of an output folder holds (DIR/results.duckdb, written by gfra run)');
  results
    .command('ls')
    .description('list the specs run into DIR: spec hash, name, when, complete or not, counts')
    .argument('<dir>', 'an output folder of gfra run')
    .action(async (dir: string) => {
      const { listRuns } = await import('./cli/results');
      out(await listRuns(dir));
    });
  results
    .command('show')
    .description('print the results table of a spec in DIR (default: the most recently run)')
    .argument('<dir>', 'an output folder of gfra run')
    .option('--spec <hash>', 'the spec (its hash, or a prefix of it, as gfra results ls prints)')
    .action(async (dir: string, opts: { spec?: string }) => {
      const { showRun } = await import('./cli/results');
      out(await showRun(dir, opts.spec));
    });
  results
    .command('export')
    .description('write the results of a spec in long format: one row per candidate x point x repetition x statistic (value, low, high, events, samples, trials)')
    .argument('<dir>', 'an output folder of gfra run')
    .addOption(new Option('--format <format>', 'file format').choices(['csv', 'parquet', 'json']).makeOptionMandatory())
    .requiredOption('--out <file>', 'output file')
    .option('--spec <hash>', 'the spec (its hash, or a prefix of it; default: the most recently run)')
    .action(async (dir: string, opts: { format: 'csv' | 'parquet' | 'json'; out: string; spec?: string }) => {
      const { exportRun } = await import('./cli/results');
      const rows = await exportRun(dir, opts);
      out(`${rows} rows written to ${opts.out}`);
    });

  cli
    .command('compare')
    .description('paired differences A − B between two candidates that saw the same trials (shared draws): per statistic, point and repetition, with the paired and the unpaired interval')
    .argument('<run>', 'an output folder of gfra run (or its results.json); its results store holds the per-trial values')
    .requiredOption('--candidates <names...>', 'the two candidates A B (rows are A − B)')
    .option('--metric <name...>', 'statistics to compare (default: every statistic of the results)')
    .option('--json', 'print the rows as JSON')
    .action(async (run: string, opts: { candidates: string[]; metric?: string[]; json?: boolean }) => {
      if (opts.candidates.length !== 2) {
        throw new CliUserError(`--candidates takes two candidate names, A and B (got ${opts.candidates.length}: ${opts.candidates.join(' ')}); e.g. --candidates energy-fa energy-midpoint`);
      }
      const { compareCommand } = await import('./cli/compare');
      out(await compareCommand(run, { candidates: [opts.candidates[0], opts.candidates[1]], metrics: opts.metric, json: opts.json }));
    });

  cli
    .command('train')
    .description('train the candidates that have a train block (or reuse their cached artifacts); no evaluation')
    .argument('<spec>', 'spec file (JSON)')
    .option('--candidate <name...>', 'train only these candidates')
    .option('--retrain', 'train again even when an artifact exists (discards checkpoints)')
    .option('--artifacts <dir>', `trained artifacts directory (default: ${ARTIFACTS_DIR})`)
    .addOption(new Option('--backend <backend>', 'compute backend').choices([...CLI_BACKENDS]).default('auto'))
    .option('--quiet', 'no progress output')
    .action(async (specFile: string, opts: { candidate?: string[]; retrain?: boolean; artifacts?: string; backend: BackendChoice; quiet?: boolean }) => {
      const { GfraUserError, selectBackend } = await import('@gfra/core');
      const { loadSpec } = await import('./plan/load');
      const { ensureTrained } = await import('./train/train');
      const { trainingSink } = await import('./cli/train-progress');
      const { formatNumber } = await import('./results/format');
      const loaded = loadSpec(specFile);
      const { validated } = loaded;
      const trainable = [...new Set(loaded.jobs.filter((j) => j.training !== undefined).map((j) => j.candidate))];
      for (const name of opts.candidate ?? []) {
        if (!Object.hasOwn(validated.spec.candidates, name)) throw new GfraUserError(`Unknown candidate "${name}". The spec has: ${Object.keys(validated.spec.candidates).join(', ')}`);
        if (!trainable.includes(name)) throw new GfraUserError(`Candidate "${name}" has no train block. Candidates with one: ${trainable.join(', ') || 'none'}`);
      }
      const jobs = loaded.jobs.filter((j) => j.training !== undefined && (opts.candidate === undefined || opts.candidate.includes(j.candidate)));
      if (jobs.length === 0) throw new GfraUserError(`${specFile}: no candidate has a train block; nothing to train`);
      const backend = await selectBackend(opts.backend);
      const quiet = opts.quiet === true;
      if (!quiet && !process.env.CI) process.stderr.write(`backend: ${backend.backend} (${backend.provider})\n`);
      const sink = trainingSink({ quiet });
      const controller = new AbortController();
      const onSigint = () => {
        process.stderr.write('\ninterrupted: saving a checkpoint after this step\n');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const trained = await ensureTrained(loaded, jobs, { artifacts: opts.artifacts, retrain: opts.retrain, onProgress: sink.onTraining, signal: controller.signal });
        sink.done();
        const rows = jobs.map((job, i) => {
          const s = trained.get(i);
          return [job.candidate, Object.keys(job.point).length > 0 ? JSON.stringify(job.point) : '-', s?.reused ? 'reused' : 'trained', String(s?.steps ?? ''), formatNumber(s?.finalLoss ?? null), formatNumber(s?.bestValidationLoss ?? null), s?.dir ?? ''];
        });
        out(textTable(['candidate', 'point', 'status', 'steps', 'loss', 'best val loss', 'artifact'], rows));
      } finally {
        sink.done();
        process.off('SIGINT', onSigint);
      }
    });

  cli
    .command('export')
    .description('write the learned transmit object of a trained candidate as JSON (gfra-transmit/1): a codebook or pilot matrix for the codebook-file encoder, spreading signatures for qpsk-spreading (source "file"), a constellation')
    .argument('<source>', 'a run (directory or results.json) or a trained artifact directory')
    .requiredOption('--out <file>', 'output JSON file')
    .option('--candidate <name>', 'the trained candidate (needed when the run trained several)')
    .option('--point <index>', 'sweep point index (0-based) when the candidate was trained at several', (v) => Number(v))
    .option('--repetition <index>', 'repetition (0-based) when the run has several (one model per repetition)', (v) => Number(v))
    .addOption(
      new Option('--format <format>', '"transmit": gfra-transmit/1; "constellation": constellation/v1, one codeword table per user with energies and minimum distances (a codebook encoder, e.g. mulvae-encoder)')
        .choices(['transmit', 'constellation'])
        .default('transmit'),
    )
    .action(async (source: string, opts: { out: string; candidate?: string; point?: number; repetition?: number; format: 'transmit' | 'constellation' }) => {
      const { selectBackend } = await import('@gfra/core');
      const { exportToFile } = await import('./cli/export');
      await selectBackend('auto');
      const obj = await exportToFile(source, opts.out, { candidate: opts.candidate, point: opts.point, repetition: opts.repetition, format: opts.format });
      if ('kind' in obj) out(`${obj.kind} [${obj.shape.join(', ')}] written to ${opts.out}`);
      else out(`constellation of ${obj.users.length} users on K = ${obj.K} REs (bits ${obj.users.map((u) => u.bits).join(', ')}) written to ${opts.out}`);
    });

  cli
    .command('constellation')
    .description('energies, power per RE and minimum distances of a multi-user constellation (constellation/v1, from gfra export --format constellation); --out writes its figure per resource element (Ma et al., Fig. 5)')
    .argument('<file>', 'a constellation/v1 JSON file')
    .option('--out <file>', 'write the figure as FILE.svg, FILE.png and its Vega-Lite spec FILE.vl.json')
    .option('--title <text>', 'figure title (default none)')
    .action(async (file: string, opts: { out?: string; title?: string }) => {
      const { formatConstellation, loadConstellation, writeConstellationFigure } = await import('./cli/constellation');
      const c = loadConstellation(file);
      out(formatConstellation(c, file));
      if (opts.out !== undefined) out(`figure written: ${(await writeConstellationFigure(c, opts.out, opts.title)).join(', ')}`);
    });

  cli
    .command('coherence')
    .description('coherence, block- and sub-coherence of a pilot matrix (from gfra export) against i.i.d. Gaussian pilots (Cui, Li, Zhang [Cui2021], Figs. 5(e), 6(d-e), 11(e-f))')
    .argument('<file>', 'a codebook / pilot matrix JSON written by gfra export')
    .option('--groups <G>', 'G groups of N/G consecutive devices (for block- and sub-coherence)', (v) => Number(v))
    .option('--draws <K>', 'Gaussian matrices to average over', (v) => Number(v), 1000)
    .option('--seed <S>', 'seed of the Gaussian draws', (v) => Number(v), 1)
    .option('--json', 'print the numbers as JSON')
    .action(async (file: string, opts: { groups?: number; draws: number; seed: number; json?: boolean }) => {
      const { coherenceReport, formatCoherence } = await import('./cli/coherence');
      const options = { groups: opts.groups, draws: opts.draws, seed: opts.seed };
      const report = coherenceReport(file, options);
      out(opts.json ? JSON.stringify(report, null, 2) : formatCoherence(report, file, options));
    });

  cli
    .command('validate')
    .description('check a spec; list every problem with its JSON path')
    .argument('<spec>', 'spec file (JSON)')
    .action(async (specFile: string) => {
      const { loadSpec } = await import('./plan/load');
      const { validated, jobs, pluginModules } = loadSpec(specFile);
      const { points } = validated;
      if (pluginModules.some((m) => /\.(c|m)?tsx?$/.test(m))) {
        const { pluginTypeIssues } = await import('./cli/plugin-check');
        pluginTypeIssues(specFile, validated.spec.plugins ?? [], pluginModules);
      }
      const { formatSpecIssue } = await import('@gfra/core');
      for (const w of validated.warnings ?? []) process.stderr.write(`warning: ${formatSpecIssue(specFile, w)}\n`);
      const repetitions = validated.spec.montecarlo.repetitions;
      const times = repetitions > 1 ? ` x ${repetitions} repetitions` : '';
      out(`${specFile}: ok (${points.length} sweep point${points.length === 1 ? '' : 's'} x ${Object.keys(validated.spec.candidates).length} candidates${times} = ${jobs.length} runs)`);
    });

  cli
    .command('list')
    .description('list plugins with their summaries and parameters')
    .argument('[kind]', `one of ${CLI_KINDS.join(', ')}`)
    .option('--plugin <module...>', 'also load these third-party plugin modules')
    .action(async (kind: string | undefined, opts: { plugin?: string[] }) => {
      if (kind !== undefined && !CLI_KINDS.includes(kind as PluginKind)) {
        throw new CliUserError(`Unknown plugin kind "${kind}". Use one of: ${CLI_KINDS.join(', ')}`);
      }
      const { builtinRegistry, loadPluginModules } = await import('./spec/plugins');
      const { listPlugins } = await import('./cli/list');
      const registry = builtinRegistry();
      if (opts.plugin) loadPluginModules(registry, opts.plugin, path.join(process.cwd(), 'cli'));
      out(listPlugins(registry, kind as PluginKind | undefined));
    });

  cli
    .command('schema')
    .description('write the JSON Schema of specs, assembled from the registered plugins')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--plugin <module...>', 'also load these third-party plugin modules')
    .action(async (opts: { out?: string; plugin?: string[] }) => {
      const { builtinRegistry, loadPluginModules } = await import('./spec/plugins');
      const { assembleSpecSchema } = await import('./spec/schema');
      const registry = builtinRegistry();
      if (opts.plugin) loadPluginModules(registry, opts.plugin, path.join(process.cwd(), 'cli'));
      const text = `${JSON.stringify(assembleSpecSchema(registry), null, 2)}\n`;
      if (opts.out === undefined) process.stdout.write(text);
      else {
        fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
        fs.writeFileSync(opts.out, text);
        out(`schema written to ${opts.out}`);
      }
    });

  cli
    .command('test-plugin')
    .description('run the plugin contract suite (@gfra/core/testing) on the plugins a module registers, after type-checking it')
    .argument('<file>', 'a plugin module (.ts or .js) that exports register(registry) or a plugins array')
    .option('--backend <backend>', 'compute backend', 'auto')
    .action(async (file: string, opts: { backend: BackendChoice }) => {
      const { selectBackend } = await import('@gfra/core');
      const { testPluginFile } = await import('./cli/test-plugin');
      await selectBackend(opts.backend);
      const outcome = await testPluginFile(file, out);
      out(`${outcome.passed} passed, ${outcome.failed} failed`);
      if (outcome.failed > 0) throw new CliUserError(`${file}: ${outcome.failed} contract check${outcome.failed === 1 ? '' : 's'} failed (see above)`);
    });

  cli
    .command('plot')
    .description('draw a statistic against a swept parameter (or against another statistic: --x pfa --y pmd), one curve per candidate, as PDF, SVG or PNG')
    .argument('<results>', 'results.json, or the run directory that holds it')
    .option('--x <param>', 'swept parameter on the x axis, full path or short name (default: the only swept one); with --y, the statistic on the x axis')
    .option('--y <statistic>', 'trade-off figure: this statistic against the statistic --x, one curve per candidate through the sweep points')
    .option('--along <param>', 'trade-off figure: the swept parameter that orders each curve (default: the first swept one)')
    .option('--metric <name>', 'statistic to draw (default: every statistic, one figure each)')
    .option('--out <file>', 'output .pdf, .svg or .png, or a name without extension; -<statistic> is added with several (default: <statistic>-vs-<param> beside results.json)')
    .option('--format <list>', 'pdf, svg, png, comma-separated (default: the --out extension, else svg,png); FILE.vl.json (the Vega-Lite spec) is always written too')
    .option('--preset <name>', 'print figure for a paper: ieee-column (3.5 x 2.6 in) or ieee-page (7.16 x 3 in); text >= 8 pt, no title')
    .option('--size <WxH>', 'print figure of this size in inches, e.g. 3.5x2.6 (overrides the preset size)')
    .option('--title <text>', 'title (default: the spec name on screen figures, none on print figures)')
    .option('--no-title', 'no title')
    .option('--legend <where>', 'top-right, top-left, bottom-left, bottom-right (inside the plot), right, bottom, or none (default: right on screen, top-right in print)')
    .option('--xlim <a,b>', 'x axis limits')
    .option('--ylim <a,b>', 'y axis limits')
    .option('--log-x', 'log scale on the x axis')
    .action(
      async (
        target: string,
        opts: { x?: string; y?: string; along?: string; metric?: string; out?: string; format?: string; preset?: string; size?: string; title?: string | false; legend?: string; xlim?: string; ylim?: string; logX?: boolean },
      ) => {
        const { plotResults } = await import('./plot');
        for (const file of await plotResults(target, opts)) out(file);
      },
    );

  cli
    .command('report')
    .description('write one self-contained interactive HTML report of one or more runs (compared side by side)')
    .argument('<runs...>', 'run directories (or their results.json files)')
    .option('--out <file>', 'output HTML file (default: RUN_DIR/report.html for one run, ./report.html for several)')
    .action(async (targets: string[], opts: { out?: string }) => {
      const { runComparisons, writeReport } = await import('./report');
      out(`report: ${writeReport(targets, opts.out, await runComparisons(targets))}`);
    });
  return cli;
}

/** `gfra run`'s default figures; a failure is a warning, never a lost run. */
async function writeRunFigures(resultsFile: string): Promise<void> {
  try {
    const { writeDefaultFigures } = await import('./plot');
    const figures = await writeDefaultFigures(resultsFile);
    if (figures.length === 0) return;
    const names = [...new Set(figures.map((f) => path.basename(f).replace(/\.(svg|png)$/, '')))];
    out(`figures (SVG and PNG) in ${path.dirname(figures[0])}: ${names.join(', ')}`);
  } catch (err) {
    process.stderr.write(`warning: could not write the figures (${err instanceof Error ? err.message : String(err)}); use --no-plot to skip them\n`);
  }
}

/** A plain-text table with padded columns. */
function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Whether `err` is (a subclass of) @gfra/core's GfraUserError, if @gfra/core was loaded at all. */
function isUserError(err: Error): boolean {
  for (let proto = Object.getPrototypeOf(err); proto !== null && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name === 'GfraUserError') return true;
  }
  return false;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  // `gfra run spec.json | head`: a closed pipe ends output quietly (results.json is already written).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  try {
    await program().parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2; // commander already printed the message
    }
    if (err instanceof Interrupted) return 130;
    if (err instanceof JobsFailed) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.code;
    }
    // @gfra/core's error classes, without loading it for commands that did not.
    const name = err instanceof Error ? err.name : '';
    if (name === 'TrainingInterrupted') {
      process.stderr.write(`${(err as Error).message}\n`);
      return 130;
    }
    if (err instanceof CliUserError || (err instanceof Error && isUserError(err))) {
      process.stderr.write(`error: ${err.message}\n`);
      if (process.env.GFRA_DEBUG && err.cause instanceof Error) process.stderr.write(`${err.cause.stack}\n`);
      return 2;
    }
    process.stderr.write(`internal error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

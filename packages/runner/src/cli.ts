/**
 * The `gfra` command line: run, validate, list, schema, plot, report.
 *
 * Exit status: 0 success, 2 a user error (bad spec, unknown plugin, missing file; printed without
 * a stack trace), 1 an internal error, 130 interrupted (results so far are kept).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { BACKEND_CHOICES, GfraUserError, PLUGIN_KINDS, type BackendChoice, type PluginKind } from '@gfra/core';
import { builtinRegistry, loadPluginModules } from './builtins';
import { listPlugins } from './list';
import { progressSink } from './progress';
import { formatTable } from './results';
import { loadSpec, runSpec } from './run';
import { assembleSpecSchema } from './spec-schema';

class Interrupted extends Error {}

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

function program(): Command {
  const cli = new Command('gfra')
    .description('gfra: grant-free random access research framework')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  cli
    .command('run')
    .description('validate and run a spec; print a results table and write DIR/results.json')
    .argument('<spec>', 'spec file (JSON)')
    .option('--out <dir>', 'output directory (default: runs/<spec name>)')
    .addOption(new Option('--backend <backend>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'))
    .option('--candidate <name...>', 'run only these candidates')
    .option('--workers <n>', 'run the jobs on n worker threads (default 1: in this thread)', (v) => Number(v))
    .option('--quiet', 'no progress output')
    .option('--no-plot', 'do not write the default figures (SVG and PNG) next to results.json')
    .action(async (specFile: string, opts: { out?: string; backend: BackendChoice; candidate?: string[]; workers?: number; quiet?: boolean; plot?: boolean }) => {
      const loaded = loadSpec(specFile);
      const quiet = opts.quiet === true;
      const sink = progressSink({ quiet });
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts += 1;
        if (interrupts > 1) process.exit(130);
        process.stderr.write('\ninterrupted: finishing the current batch and saving results (Ctrl-C again to quit now)\n');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const run = await runSpec(loaded, {
          out: opts.out,
          backend: opts.backend,
          candidates: opts.candidate,
          workers: opts.workers,
          onProgress: sink.onProgress,
          signal: controller.signal,
        });
        sink.done();
        if (!quiet) process.stderr.write(`backend: ${run.backend.backend} (${run.backend.provider})\n`);
        out(formatTable(run.results.results));
        out(`\nresults: ${run.resultsFile}`);
        if (opts.plot !== false) await writeRunFigures(run.resultsFile);
        if (!run.results.complete) throw new Interrupted();
      } finally {
        sink.done();
        process.off('SIGINT', onSigint);
      }
    });

  cli
    .command('validate')
    .description('check a spec; list every problem with its JSON path')
    .argument('<spec>', 'spec file (JSON)')
    .action((specFile: string) => {
      const { validated } = loadSpec(specFile);
      const { jobs, points } = validated;
      out(`${specFile}: ok (${points.length} sweep point${points.length === 1 ? '' : 's'} x ${Object.keys(validated.spec.candidates).length} candidates = ${jobs.length} runs)`);
    });

  cli
    .command('list')
    .description('list plugins with their summaries and parameters')
    .argument('[kind]', `one of ${PLUGIN_KINDS.join(', ')}`)
    .option('--plugin <module...>', 'also load these third-party plugin modules')
    .action((kind: string | undefined, opts: { plugin?: string[] }) => {
      if (kind !== undefined && !PLUGIN_KINDS.includes(kind as PluginKind)) {
        throw new GfraUserError(`Unknown plugin kind "${kind}". Use one of: ${PLUGIN_KINDS.join(', ')}`);
      }
      const registry = builtinRegistry();
      if (opts.plugin) loadPluginModules(registry, opts.plugin, path.join(process.cwd(), 'cli'));
      out(listPlugins(registry, kind as PluginKind | undefined));
    });

  cli
    .command('schema')
    .description('write the JSON Schema of specs, assembled from the registered plugins')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--plugin <module...>', 'also load these third-party plugin modules')
    .action((opts: { out?: string; plugin?: string[] }) => {
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
    .command('plot')
    .description('draw a statistic against a swept parameter, one line per candidate, as PNG or SVG')
    .argument('<results>', 'results.json, or the run directory that holds it')
    .option('--x <param>', 'swept parameter on the x axis, full path or short name (default: the only swept one)')
    .option('--metric <name>', 'statistic to draw (default: every statistic, one figure each)')
    .option('--out <file>', 'output .png or .svg; -<statistic> is added with several (default: <statistic>-vs-<param>.svg and .png beside results.json)')
    .action(async (target: string, opts: { x?: string; metric?: string; out?: string }) => {
      const { plotResults } = await import('./plot');
      for (const file of await plotResults(target, opts)) out(file);
    });

  cli
    .command('report')
    .description('write one self-contained interactive HTML report of one or more runs (compared side by side)')
    .argument('<runs...>', 'run directories (or their results.json files)')
    .option('--out <file>', 'output HTML file (default: RUN_DIR/report.html for one run, ./report.html for several)')
    .action(async (targets: string[], opts: { out?: string }) => {
      const { writeReport } = await import('./report');
      out(`report: ${writeReport(targets, opts.out)}`);
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

/** Run the CLI with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2; // commander already printed the message
    }
    if (err instanceof Interrupted) return 130;
    if (err instanceof GfraUserError) {
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

/**
 * The `gfra` command line: run, validate, list, schema.
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
    .action(async (specFile: string, opts: { out?: string; backend: BackendChoice; candidate?: string[]; workers?: number; quiet?: boolean }) => {
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
  return cli;
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

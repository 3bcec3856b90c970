// Start-up shared by bin/gfra.js and bin/worker.js: decide whether this process runs the compiled
// JavaScript (dist/, built by `pnpm build`, which `pnpm install` runs) or the TypeScript sources
// (src/, through ts-node), and prepare that. Plain CommonJS on purpose: nothing here may need a
// build, and it loads only node: modules so that compiled start-up stays cheap.
//
// The sources run when
//   - the `gfra-source` export condition is on (`node --conditions=gfra-source`, as every
//     package's .mocharc.json sets): `@gfra/*` already resolve to src/*.ts;
//   - GFRA_FROM_SOURCE=1 (set by the user, or by gfra.js for its workers when it fell back);
//   - gfra.js only: dist is missing or was built from other sources than those on disk
//     (see build-state.js); it says so on stderr when that is a terminal.
// Otherwise dist runs, and a `.ts` plugin module still loads: ts-node is registered on its first
// `.ts` require, not before.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const RUNNER = path.join(__dirname, '..');
const REPO_TSCONFIG = path.join(RUNNER, '..', '..', 'tsconfig.base.json');

/** The gfra workspace packages this runner loads: name -> directory (the runner included). */
function gfraPackages() {
  const manifest = JSON.parse(fs.readFileSync(path.join(RUNNER, 'package.json'), 'utf8'));
  const packages = new Map([[manifest.name, RUNNER]]);
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (name.startsWith('@gfra/')) packages.set(name, path.dirname(require.resolve(`${name}/package.json`)));
  }
  return packages;
}

/** Whether `@gfra/*` resolve to the TypeScript sources in this thread (the gfra-source condition). */
function sourceConditionOn() {
  try {
    return require.resolve('@gfra/core').endsWith('.ts');
  } catch {
    return false;
  }
}

let tsNodeRegistered = false;
/** TypeScript through ts-node: transpile-only, decorator metadata from the TypeScript compiler. */
function registerTsNode() {
  if (tsNodeRegistered) return;
  tsNodeRegistered = true;
  process.env.TS_NODE_TRANSPILE_ONLY = 'true';
  if (process.env.TS_NODE_PROJECT === undefined && fs.existsSync(REPO_TSCONFIG)) process.env.TS_NODE_PROJECT = REPO_TSCONFIG;
  require('ts-node').register({
    transpileOnly: true,
    // Used where there is no tsconfig (an installed runner); the repository's tsconfig.base.json says the same.
    compilerOptions: { experimentalDecorators: true, emitDecoratorMetadata: true, esModuleInterop: true, module: 'commonjs', target: 'ES2022' },
  });
}

/** Compiled runs: register ts-node on the first `.ts` require (a spec's plugin file), not before. */
function lazyTypeScript() {
  const lazy = function (module, filename) {
    if (!tsNodeRegistered) {
      registerTsNode();
      if (require.extensions['.ts'] !== lazy) return require.extensions['.ts'](module, filename);
    }
    // ts-node hands back the files it ignores (node_modules) to the handler it replaced: this one.
    return require.extensions['.js'](module, filename);
  };
  if (require.extensions['.ts'] === undefined) require.extensions['.ts'] = lazy;
}

/**
 * Without the gfra-source condition, make `@gfra/<pkg>[/<subpath>]` resolve as if it were on:
 * to the `gfra-source` target of the package's exports (the sources), in this thread.
 */
function redirectToSources(packages) {
  const Module = require('node:module');
  const targets = new Map();
  for (const [name, dir] of packages) {
    const { exports } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const [subpath, target] of Object.entries(exports ?? {})) {
      if (target !== null && typeof target === 'object' && typeof target['gfra-source'] === 'string' && !subpath.includes('*')) {
        targets.set(name + subpath.slice(1), path.join(dir, target['gfra-source']));
      }
    }
  }
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return targets.get(request) ?? resolve.call(this, request, ...rest);
  };
}

/**
 * Prepare this thread to run the sources or dist; returns the file to require for `module`
 * ('cli', or a list of candidates such as ['engine/worker', 'worker'], the first that exists wins).
 * `stale` (main thread only) gives why dist cannot be used, or null.
 */
function prepare(modules, { checkBuild }) {
  const candidates = Array.isArray(modules) ? modules : [modules];
  const pick = (dir, ext) => candidates.map((m) => path.join(RUNNER, dir, m + ext)).find((f) => fs.existsSync(f));
  const conditionOn = sourceConditionOn();
  let fromSource = conditionOn || process.env.GFRA_FROM_SOURCE === '1';
  let packages;
  if (!fromSource && checkBuild) {
    packages = gfraPackages();
    const why = require('./build-state').staleReason([...packages.values()]) ?? (pick('dist', '.js') === undefined ? 'dist has no entry point' : null);
    if (why !== null) {
      if (process.stderr.isTTY) process.stderr.write(`gfra: the compiled build is out of date (${why}): run \`pnpm build\`. Running the TypeScript sources meanwhile (slower start).\n`);
      process.env.GFRA_FROM_SOURCE = '1'; // worker threads copy this environment
      fromSource = true;
    }
  }
  if (!fromSource) {
    lazyTypeScript();
    return pick('dist', '.js') ?? path.join(RUNNER, 'dist', candidates[0] + '.js');
  }
  if (!conditionOn) redirectToSources(packages ?? gfraPackages());
  registerTsNode();
  return pick('src', '.ts') ?? path.join(RUNNER, 'src', candidates[0] + '.ts');
}

/** Run the sources in this thread whatever the conditions (scripts/mocha-setup.js, when not started with them). */
function useSources() {
  if (!sourceConditionOn()) redirectToSources(gfraPackages());
  registerTsNode();
}

module.exports = { prepare, useSources, sourceConditionOn };

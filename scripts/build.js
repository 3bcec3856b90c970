// `pnpm build` (and so `pnpm install`, through the root `prepare` script): compiles every package
// with TypeScript project references (tsc -b tsconfig.build.json: src -> dist, incremental), then
// per package
//   - copies the non-TypeScript files under src/ (e.g. runner's report/client.js) to dist/;
//   - deletes from dist/ what no longer has a source (files moved or removed);
//   - records what dist/ was built from (packages/runner/bin/build-state.js), so that bin/gfra.js
//     never runs a stale build. The inputs are hashed before compiling: an edit made during the
//     build leaves the build marked stale.
// Extra arguments go to tsc (e.g. `pnpm build --verbose`).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const state = require('../packages/runner/bin/build-state');

const ROOT = path.join(__dirname, '..');
const packages = fs
  .readdirSync(path.join(ROOT, 'packages'))
  .map((name) => path.join(ROOT, 'packages', name))
  .filter((dir) => fs.existsSync(path.join(dir, 'tsconfig.build.json')));

const before = new Map(packages.map((dir) => [dir, state.inputsOf(dir)]));
const previous = new Map(packages.map((dir) => [dir, state.read(dir)]));
const infoTime = (dir) => fs.statSync(path.join(dir, 'dist', '.tsbuildinfo'), { throwIfNoEntry: false })?.mtimeMs;
const infoBefore = new Map(packages.map((dir) => [dir, infoTime(dir)]));
// No record while dist is being written: a failed build (tsc still emits) must stay marked stale.
for (const dir of packages) state.remove(dir);

const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
const build = (...extra) => {
  const result = spawnSync(process.execPath, [tsc, '-b', path.join(ROOT, 'tsconfig.build.json'), ...extra, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
build();
// tsc -b decides by timestamps: a TypeScript source replaced by different contents carrying an older
// timestamp (cp -p, rsync -a, tar) looks up to date to it. Compare contents with the last build.
const missed = packages.filter((dir) => {
  const last = previous.get(dir);
  if (last === null || infoTime(dir) !== infoBefore.get(dir)) return false;
  const now = before.get(dir);
  const ts = (inputs) => Object.keys(inputs).filter((f) => !/^src\/.*(?<!\.ts)$/.test(f));
  const keys = new Set([...ts(now), ...ts(last)]);
  return [...keys].some((f) => now[f] !== last[f]);
});
if (missed.length > 0) {
  console.log(`build: ${missed.map((d) => path.relative(ROOT, d)).join(', ')} changed behind tsc's timestamps: rebuilding everything`);
  build('--force');
}

const OUTPUTS = ['.d.ts.map', '.js.map', '.d.ts', '.js'];

function files(dir, base = dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    return e.isDirectory() ? files(file, base) : [path.relative(base, file)];
  });
}

function removeEmptyDirs(dir, top = true) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) removeEmptyDirs(path.join(dir, e.name), false);
  }
  if (!top && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
}

for (const dir of packages) {
  const src = path.join(dir, 'src');
  const dist = path.join(dir, 'dist');
  const assets = files(src).filter((f) => !f.endsWith('.ts'));
  for (const asset of assets) {
    const from = path.join(src, asset);
    const to = path.join(dist, asset);
    if (fs.existsSync(to) && fs.readFileSync(to).equals(fs.readFileSync(from))) continue;
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
  }
  const keep = new Set(assets);
  for (const file of files(dist)) {
    if (path.dirname(file) === '.' && file.startsWith('.')) continue; // .tsbuildinfo, the build record
    if (keep.has(file)) continue;
    const suffix = OUTPUTS.find((s) => file.endsWith(s));
    if (suffix !== undefined && fs.existsSync(path.join(src, file.slice(0, -suffix.length) + '.ts'))) continue;
    fs.rmSync(path.join(dist, file));
  }
  removeEmptyDirs(dist);
  state.write(dir, before.get(dir));
}

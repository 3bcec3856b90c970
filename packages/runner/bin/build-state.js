// What a package's dist/ was built from, so that compiled code never runs stale: scripts/build.js
// hashes a package's build inputs before compiling and, once the build succeeded, writes them to
// dist/.gfra-build.json; bin/gfra.js compares them with the files on disk at every start
// (a few milliseconds for the whole workspace) and runs the sources when anything differs.
//
// Build inputs: every file under src/ except tests (*.test.ts), plus the package's
// tsconfig.build.json and the tsconfig.base.json it extends.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const RECORD = '.gfra-build.json';
const FORMAT = 1;

function isTest(name) {
  return name.endsWith('.test.ts');
}

/** Build inputs of the package in `dir`: relative path -> sha1 of the contents. */
function inputsOf(dir) {
  const inputs = {};
  const add = (file) => {
    inputs[path.relative(dir, file).split(path.sep).join('/')] = crypto.createHash('sha1').update(fs.readFileSync(file)).digest('hex');
  };
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (!isTest(entry.name)) add(file);
    }
  };
  walk(path.join(dir, 'src'));
  for (const config of ['tsconfig.build.json', path.join('..', '..', 'tsconfig.base.json')]) {
    if (fs.existsSync(path.join(dir, config))) add(path.join(dir, config));
  }
  return inputs;
}

function write(dir, inputs) {
  fs.writeFileSync(path.join(dir, 'dist', RECORD), JSON.stringify({ format: FORMAT, inputs }) + '\n');
}

/** The inputs dist/ was last built from, or null. */
function read(dir) {
  try {
    const built = JSON.parse(fs.readFileSync(path.join(dir, 'dist', RECORD), 'utf8'));
    return built.format === FORMAT ? built.inputs : null;
  } catch {
    return null;
  }
}

function remove(dir) {
  fs.rmSync(path.join(dir, 'dist', RECORD), { force: true });
}

/** Why the dist of one of `dirs` cannot be used (e.g. 'packages/core/src/rng.ts changed'), or null. */
function staleReason(dirs) {
  for (const dir of dirs) {
    const name = path.relative(path.join(__dirname, '..', '..', '..'), dir) || dir;
    let built;
    try {
      built = JSON.parse(fs.readFileSync(path.join(dir, 'dist', RECORD), 'utf8'));
    } catch {
      return `${name} has no complete build`;
    }
    if (built.format !== FORMAT) return `${name} was built by another version of the build`;
    const now = inputsOf(dir);
    for (const [file, hash] of Object.entries(now)) {
      if (!(file in built.inputs)) return `${name}/${file} is new`;
      if (built.inputs[file] !== hash) return `${name}/${file} changed`;
    }
    for (const file of Object.keys(built.inputs)) {
      if (!(file in now)) return `${name}/${file} is gone`;
    }
  }
  return null;
}

module.exports = { inputsOf, read, write, remove, staleReason };

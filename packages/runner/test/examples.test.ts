/**
 * Every example spec in examples/ validates against the current registry and schema, so that a
 * change of a plugin's parameters cannot silently break the documented commands. Specs that read
 * a file written by another example's run (`codebook-file` on runs/...) are validated when that
 * file exists and listed otherwise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { loadSpec } from '../src/plan/load';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function specFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : specFiles(p);
    if (!e.name.endsWith('.json')) return [];
    const text = fs.readFileSync(p, 'utf8');
    return /"candidates"\s*:/.test(text) ? [p] : [];
  });
}

/** Files a spec reads through `codebook-file` that do not exist (yet). */
function missingInputs(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/"plugin"\s*:\s*"codebook-file"\s*,\s*"params"\s*:\s*\{\s*"path"\s*:\s*"([^"]+)"/g)]
    .map((m) => path.resolve(path.dirname(file), m[1]))
    .filter((p) => !fs.existsSync(p));
}

describe('examples: every spec validates', function () {
  this.timeout(120000);
  const files = specFiles(path.join(ROOT, 'examples'));

  it('finds the example specs', () => {
    expect(files.length).to.be.greaterThan(40);
  });

  for (const file of files) {
    const name = path.relative(ROOT, file);
    it(name, function () {
      const missing = missingInputs(file);
      if (missing.length > 0) this.skip(); // written by another example's run (see its README)
      expect(() => loadSpec(file)).to.not.throw();
    });
  }
});

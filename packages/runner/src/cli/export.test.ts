import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveArtifact } from './export';

describe('gfra export: which trained artifact', () => {
  const run = (results: Record<string, unknown>[]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-export-'));
    fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify({ results }));
    return dir;
  };
  const trained = (repetition: number | undefined, dir: string) => ({
    candidate: 'learned',
    point: {},
    ...(repetition === undefined ? {} : { repetition }),
    training: { dir },
  });

  it('with repetitions: one model per repetition, chosen with --repetition', () => {
    const dir = run([trained(0, 'a0'), trained(1, 'a1'), trained(2, 'a2')]);
    const file = path.join(dir, 'results.json');
    expect(() => resolveArtifact(dir)).to.throw(`${file}: candidate "learned" was trained once per repetition (0, 1, 2); choose one with --repetition`);
    expect(resolveArtifact(dir, { repetition: 1 })).to.equal('a1');
    expect(() => resolveArtifact(dir, { repetition: 3 })).to.throw('--repetition must be one of 0, 1, 2 (got 3)');
  });

  it('without repetitions: --repetition is 0 or left out', () => {
    const dir = run([trained(undefined, 'only')]);
    expect(resolveArtifact(dir)).to.equal('only');
    expect(resolveArtifact(dir, { repetition: 0 })).to.equal('only');
    expect(() => resolveArtifact(dir, { repetition: 2 })).to.throw('the run has no repetitions');
  });
});

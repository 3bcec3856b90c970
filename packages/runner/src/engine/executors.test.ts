import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSpec } from '../plan/load';
import { runSpec } from '../run';
import { tinySpec } from '../testing';

describe('executors', function () {
  this.timeout(120000);

  it('a worker pool gives the same numbers as the inline executor, in spec order', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-exec-'));
    const file = path.join(dir, 'spec.json');
    fs.writeFileSync(
      file,
      JSON.stringify(
        tinySpec({
          candidates: {
            a: { detector: { plugin: 'correlation-energy' } },
            b: { detector: { plugin: 'correlation-energy', params: { threshold: { rule: 'midpoint' } } } },
          },
          sweep: { 'scenario.sequenceLength': [6, 10] },
        }),
      ),
    );
    const inline = await runSpec(loadSpec(file), { out: path.join(dir, 'inline'), backend: 'wasm', workers: 1 });
    const pooled = await runSpec(loadSpec(file), { out: path.join(dir, 'pool'), backend: 'wasm', workers: 2 });
    const strip = (rs: typeof inline.results.results) => rs.map((r) => ({ ...r, seconds: 0, detectorTime: undefined }));
    expect(pooled.results.complete).to.equal(true);
    expect(strip(pooled.results.results)).to.deep.equal(strip(inline.results.results));
    expect(pooled.results.results.map((r) => r.candidate)).to.deep.equal(['a', 'b', 'a', 'b']);
  });

  it('workers run the planned jobs: editing the spec file after it was loaded changes nothing (no re-read, no mix of specs)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-exec-'));
    const file = path.join(dir, 'spec.json');
    const original = tinySpec({ sweep: { 'scenario.sequenceLength': [6, 10] } });
    fs.writeFileSync(file, JSON.stringify(original));
    const reference = await runSpec(loadSpec(file), { out: path.join(dir, 'reference'), backend: 'wasm' });
    const loaded = loadSpec(file);
    // What a user saving the file while the run starts would do: another seed, a point removed,
    // another detector.
    fs.writeFileSync(
      file,
      JSON.stringify({ ...original, seed: 99, sweep: { 'scenario.sequenceLength': [6] }, candidates: { energy: { detector: { plugin: 'mmv-amp' } } } }),
    );
    const pooled = await runSpec(loaded, { out: path.join(dir, 'pool'), backend: 'wasm', workers: 2 });
    const strip = (rs: typeof pooled.results.results) => rs.map((r) => ({ ...r, seconds: 0, detectorTime: undefined }));
    expect(strip(pooled.results.results)).to.deep.equal(strip(reference.results.results));
    expect(pooled.results.spec).to.deep.equal(reference.results.spec);
    expect(pooled.results.specHash).to.equal(reference.results.specHash);
  });
});

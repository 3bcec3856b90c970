import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSpec, planObject } from '../plan/load';
import { builtinRegistry } from '../spec/plugins';
import { poolExecutor, type Completed } from './executors';
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

  it('pool: a job\'s batches are committed one at a time, a failed commit fails the job with its message, and results come after their last commit', async () => {
    const registry = builtinRegistry();
    const { jobs } = planObject(tinySpec({ sweep: { 'scenario.sequenceLength': [6, 10] }, montecarlo: { batchSize: 16, targetEvents: 1e9, maxTrials: 160, maxSeconds: 600 } }), 'test.json', registry);
    const inFlight = new Map<number, number>(); // position -> commits in flight
    let overlapped = false;
    const settled = new Map<number, number>(); // position -> commits settled
    const calls = new Map<number, number>();
    const onBatch = async (position: number) => {
      const call = (calls.get(position) ?? 0) + 1;
      calls.set(position, call);
      inFlight.set(position, (inFlight.get(position) ?? 0) + 1);
      overlapped ||= inFlight.get(position)! > 1;
      await new Promise((r) => setTimeout(r, 20)); // a slow commit: the worker computes ahead meanwhile
      inFlight.set(position, inFlight.get(position)! - 1);
      settled.set(position, (settled.get(position) ?? 0) + 1);
      if (position === 1 && call === 3) throw new Error('disk full (test)');
    };
    const done: { c: Completed; settledThen: number }[] = [];
    const ctx = { registry, jobs: jobs.map((job) => ({ job })), onBatch, pluginModules: [], specFile: path.join(os.tmpdir(), 'test.json'), backend: 'wasm' as const };
    for await (const c of poolExecutor(2)(ctx)) done.push({ c, settledThen: settled.get(c.position) ?? 0 });
    expect(overlapped, 'more than one commit of a job in flight').to.equal(false);
    const byPosition = new Map(done.map((d) => [d.c.position, d]));
    const ok = byPosition.get(0)!;
    expect(ok.c.result?.trials).to.equal(160);
    expect(ok.settledThen, 'job 0: every batch committed before its result').to.equal(10);
    const failed = byPosition.get(1)!;
    expect(failed.c.failure?.message).to.include('disk full (test)');
    expect(failed.c.result).to.equal(undefined);
    expect(calls.get(1), 'job 1: no batch handed over after the failed commit').to.equal(3);
  });
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { SpecError } from '@gfra/core';
import { loadSpec } from '../plan/load';

/**
 * File-path parameters (schema keyword FILE_PATH_KEYWORD, e.g. scma-codebook's `file`) are
 * resolved against the spec's folder before checks and construction.
 */
describe('spec validation: file-path parameters', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-files-'));
    fs.mkdirSync(path.join(dir, 'books'));
    // 2 users on 2 REs, Q = 2
    fs.writeFileSync(path.join(dir, 'books', 'toy.json'), JSON.stringify({ codebook: [[[[1, 0], [0, 0]], [[-1, 0], [0, 0]]], [[[0, 0], [0, 1]], [[0, 0], [0, -1]]]] }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const spec = (file: string, numDevices = 2) => ({
    name: 'files',
    seed: 1,
    scenario: { numDevices, numAntennas: 1, sequenceLength: 2, bitsPerDevice: 1 },
    traffic: { plugin: 'fixed-count', params: { numActive: numDevices } },
    channel: { plugin: 'per-resource-rayleigh', params: { mode: 'awgn', ebN0Db: 4 } },
    encoder: { plugin: 'scma-codebook', params: { file } },
    candidates: { mpa: { detector: { plugin: 'scma-mpa' } } },
    metrics: [{ plugin: 'ber' }],
  });
  const write = (name: string, content: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(content, null, 2));
    return file;
  };

  it('resolves a relative codebook path against the spec folder (the spec text keeps it as written)', () => {
    const { jobs, validated } = loadSpec(write('ok.json', spec('books/toy.json')));
    expect(jobs[0].pipeline.slots.encoder.params.file).to.equal(path.join(dir, 'books', 'toy.json'));
    expect(validated.spec.encoder.params.file).to.equal('books/toy.json');
  });

  it('reports a missing or misfit codebook file at its spec path, naming the resolved file', () => {
    const issuesOf = (file: string) => {
      try {
        loadSpec(file);
      } catch (err) {
        if (err instanceof SpecError) return err.issues;
        throw err;
      }
      throw new Error('accepted');
    };
    const [missing] = issuesOf(write('missing.json', spec('books/nope.json')));
    expect(missing.path).to.equal('encoder.params.file');
    expect(missing.message).to.equal(`cannot read codebook file "${path.join(dir, 'books', 'nope.json')}": no such file`);
    const [misfit] = issuesOf(write('misfit.json', spec('books/toy.json', 3)));
    expect(misfit.path).to.equal('encoder.params.file');
    expect(misfit.message).to.match(/has 2 users, 2 resource elements and 2 codewords per user \(J = 1 bits\), but the scenario has numDevices = 3/);
  });
});

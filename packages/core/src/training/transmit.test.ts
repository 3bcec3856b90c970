import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fromTransmitObject, readTransmitFile, toTransmitObject, transmitObjectProblems, writeTransmitFile } from './transmit';

describe('training: transmit objects (codebook JSON)', () => {
  it('round-trips a complex codebook through JSON exactly, with its provenance', () => {
    const value = { re: tf.tensor2d([[0.1, -0.2, 1 / 3], [2e-9, 0, -1]]), im: tf.tensor2d([[1, 2, 3], [4, 5, 6e7]]) };
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-tx-')), 'c.json');
    writeTransmitFile(file, toTransmitObject('codebook', value, { candidate: 'learned' }));
    const obj = readTransmitFile(file);
    expect(obj.kind).to.equal('codebook');
    expect(obj.shape).to.deep.equal([2, 3]);
    expect(obj.provenance).to.deep.equal({ candidate: 'learned' });
    const back = fromTransmitObject(obj);
    expect(Array.from(back.re.dataSync())).to.deep.equal(Array.from(value.re.dataSync()));
    expect(Array.from(back.im.dataSync())).to.deep.equal(Array.from(value.im.dataSync()));
    tf.dispose([value.re, value.im, back.re, back.im]);
  });

  it('lists every problem of a malformed object', () => {
    expect(transmitObjectProblems({ format: 'x', kind: 'pilot', shape: [2, 2], re: [1, 2, 3], im: [1, 'a'] })).to.deep.equal([
      '"format" must be "gfra-transmit/1" (got "x")',
      '"kind" must be one of "codebook", "pilots", "constellation", "signatures" (got "pilot")',
      '"re" has 3 values; shape [2, 2] needs 4',
      '"im" must be a list of finite numbers',
    ]);
    expect(transmitObjectProblems([1])).to.deep.equal(['is not a JSON object']);
  });

  it('names the file when it is missing, not JSON, or not a transmit object', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-tx-'));
    expect(() => readTransmitFile(path.join(dir, 'none.json'))).to.throw(`file not found: ${path.join(dir, 'none.json')}`);
    fs.writeFileSync(path.join(dir, 'cut.json'), '{"format": "gfra-tr');
    expect(() => readTransmitFile(path.join(dir, 'cut.json'))).to.throw(/cut\.json is not valid JSON \(truncated or corrupt\?\)/);
    fs.writeFileSync(path.join(dir, 'other.json'), '{"a": 1}');
    expect(() => readTransmitFile(path.join(dir, 'other.json'))).to.throw(/other\.json is not a gfra transmit object: "format" must be/);
  });
});

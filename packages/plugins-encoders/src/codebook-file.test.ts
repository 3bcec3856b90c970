import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { cx, RandomStreams, toTransmitObject, writeTransmitFile, type Scenario } from '@gfra/core';
import { CodebookFileEncoder } from './codebook-file';
import { LearnedPilotsEncoder } from './learned-pilots';

const S: Scenario = { numDevices: 4, numAntennas: 1, sequenceLength: 3, bitsPerDevice: 0 };

describe('encoder:codebook-file', () => {
  it('loads a codebook exported from another encoder, bit for bit', () => {
    const learned = new LearnedPilotsEncoder({ trainable: true }, S, new RandomStreams(['x']));
    const codebook = learned.sideInformation().codebook as cx.ComplexTensor;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-cb-')), 'pilots.json');
    writeTransmitFile(file, toTransmitObject('codebook', codebook, { candidate: 'learned' }));
    const loaded = new CodebookFileEncoder({ path: file, normalize: false }, S);
    expect(cx.toArrays(loaded.sideInformation().codebook as cx.ComplexTensor)).to.deep.equal(cx.toArrays(codebook));
    expect(loaded.provenance).to.deep.equal({ candidate: 'learned' });
    const traffic = { activity: tf.tensor2d([[0, 1, 1, 0]]), message: tf.zeros([1, 4], 'int32') as tf.Tensor2D };
    expect(cx.toArrays(loaded.encode(traffic))).to.deep.equal(cx.toArrays(learned.encode(traffic)));
    learned.dispose();
    loaded.dispose();
  });

  it('rejects a codebook whose shape does not fit the scenario, at validation (check) and construction', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-cb-')), 'pilots.json');
    writeTransmitFile(file, toTransmitObject('codebook', { re: tf.zeros([3, 5]), im: tf.zeros([3, 5]) }));
    const check = CodebookFileEncoder.plugin.check?.({ path: file, normalize: false }, S);
    expect(check).to.deep.equal([
      {
        path: 'path',
        message: 'pilots.json has shape [3, 5], but the scenario needs [L, N*Q] = [3, 4] (sequenceLength 3, numDevices 4, Q 1); use the scenario it was trained for',
      },
    ]);
    expect(() => new CodebookFileEncoder({ path: file, normalize: false }, S)).to.throw(/has shape \[3, 5\], but the scenario needs \[L, N\*Q\] = \[3, 4\]/);
    const missing = CodebookFileEncoder.plugin.check?.({ path: path.join(path.dirname(file), 'nope.json'), normalize: false }, S);
    expect(missing?.[0].message).to.match(/^file not found: .*nope\.json$/);
    expect(missing?.[0].hint).to.equal('Write one with `gfra export RUN --candidate NAME --out FILE.json`');
  });
});

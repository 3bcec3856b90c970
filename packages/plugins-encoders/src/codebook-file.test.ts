import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { constellationFile, cx, RandomStreams, toTransmitObject, writeTransmitFile, type Scenario } from '@gfra/core';
import { CodebookFileEncoder } from './codebook-file';
import { LearnedPilotsEncoder } from './learned-pilots';
import { ScmaCodebookEncoder } from './scma-codebook';

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

  it('loads a constellation/v1 file with bits per user (SCMA, 1-bit users on codewords {0, 3}) as the same codebook; refuses other bits', () => {
    const S6: Scenario = { numDevices: 6, numAntennas: 1, sequenceLength: 4, bitsPerDevice: 2, deviceBits: [1, 1, 1, 2, 2, 2] };
    const scma = new ScmaCodebookEncoder({ normalize: 'per-user' } as never, S6);
    const codebook = scma.sideInformation().codebook as cx.ComplexTensor; // [4, 24]
    const c = constellationFile({ re: codebook.re.dataSync(), im: codebook.im.dataSync(), K: 4 }, [1, 1, 1, 2, 2, 2], { source: 'scma', energyConvention: 'E||x_n||^2 = 1' });
    // SCMA: every codeword on 2 of the 4 REs, unit average energy per user
    expect(c.diagnostics?.densePairs).to.equal(12);
    c.diagnostics?.averageEnergy.forEach((e) => expect(e).to.be.closeTo(1, 1e-6));
    expect(c.users.map((u) => u.points.length)).to.deep.equal([2, 2, 2, 4, 4, 4]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-cb-'));
    const file = path.join(dir, 'scma.json');
    fs.writeFileSync(file, JSON.stringify(c));
    const loaded = new CodebookFileEncoder({ path: file, normalize: false }, S6);
    const got = cx.toArrays(loaded.sideInformation().codebook as cx.ComplexTensor);
    const want = cx.toArrays(codebook);
    got.re.forEach((v, i) => expect(v).to.be.closeTo(want.re[i], 1e-7));
    got.im.forEach((v, i) => expect(v).to.be.closeTo(want.im[i], 1e-7));
    expect(loaded.provenance).to.deep.equal({ constellation: { source: 'scma' } });
    const traffic = { activity: tf.ones([2, 6]) as tf.Tensor2D, message: tf.tensor2d([[0, 1, 0, 3, 2, 1], [1, 0, 1, 0, 3, 2]], [2, 6], 'int32') };
    const a = cx.toArrays(loaded.encode(traffic));
    const b = cx.toArrays(scma.encode(traffic));
    a.re.forEach((v, i) => expect(v).to.be.closeTo(b.re[i], 1e-7));
    // normalize leaves the unused (zero) columns of the 1-bit users at zero
    const normalized = new CodebookFileEncoder({ path: file, normalize: true }, S6);
    const n = cx.toArrays(normalized.sideInformation().codebook as cx.ComplexTensor);
    expect(n.re.every((v) => Number.isFinite(v))).to.equal(true);
    expect([2, 3].map((q) => n.re[q] === 0 && n.im[q] === 0)).to.deep.equal([true, true]);
    const other: Scenario = { ...S6, deviceBits: [2, 2, 2, 1, 1, 1] };
    expect(CodebookFileEncoder.plugin.check?.({ path: file, normalize: false }, other)?.[0].message).to.equal(
      'scma.json has bits per user [1, 1, 1, 2, 2, 2], but the scenario has bitsPerDevice [2, 2, 2, 1, 1, 1]',
    );
    expect(CodebookFileEncoder.plugin.check?.({ path: file, normalize: false }, { ...S6, sequenceLength: 5 })?.[0].message).to.match(/has K = 4 resource elements, but the scenario has sequenceLength 5/);
    // the file shipped with the Mul-VAE example is this table
    const shipped = new CodebookFileEncoder({ path: path.join(__dirname, '../../../examples/mul-vae/constellations/scma-6x4.json'), normalize: false }, S6);
    const s = cx.toArrays(shipped.sideInformation().codebook as cx.ComplexTensor);
    s.re.forEach((v, i) => expect(v).to.be.closeTo(want.re[i], 1e-7));
    s.im.forEach((v, i) => expect(v).to.be.closeTo(want.im[i], 1e-7));
    shipped.dispose();
    scma.dispose();
    loaded.dispose();
    normalized.dispose();
    fs.rmSync(dir, { recursive: true });
  });
});

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  ArtifactError,
  checkWeightsMatch,
  directoryCheckpointStore,
  readTrainedArtifact,
  writeTrainedArtifact,
} from './artifacts';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-artifact-'));
}

async function sample(dir: string): Promise<Record<string, tf.Tensor>> {
  const weights = {
    'encoder/pilotsRe': tf.tensor2d([[0.1, -0, 1e-42], [3.4028234e38, -1.5, 2 / 3]]),
    'detector/output/bias': tf.tensor1d([Math.PI, -Math.E, 0]),
  };
  await writeTrainedArtifact(dir, weights, { key: 'k'.repeat(64), candidate: 'c' }, { candidate: 'c' }, 'gfra test');
  return weights;
}

describe('training: trained artifacts on disk', () => {
  it('writes the tfjs artifact format and reads back bit-identical weights', async () => {
    const dir = path.join(tmp(), 'a');
    const weights = await sample(dir);
    const model = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(model.format).to.equal('gfra-trained/1');
    expect(model.weightsManifest[0].paths).to.deep.equal(['weights.bin']);
    expect(model.weightsManifest[0].weights.map((w: { name: string }) => w.name)).to.deep.equal(['encoder/pilotsRe', 'detector/output/bias']);
    const { meta, weights: back } = readTrainedArtifact(dir, { expectedKey: 'k'.repeat(64) });
    expect(meta.candidate).to.equal('c');
    expect((meta.weights as { sha256: string }).sha256).to.match(/^[0-9a-f]{64}$/);
    for (const [name, t] of Object.entries(weights)) {
      expect(Array.from(new Uint32Array((back[name].dataSync() as Float32Array).buffer)), name).to.deep.equal(Array.from(new Uint32Array((t.dataSync() as Float32Array).buffer)));
    }
    tf.dispose([...Object.values(weights), ...Object.values(back)]);
  });

  it('rejects a truncated weights file with the file, the byte counts and the fix', async () => {
    const dir = path.join(tmp(), 'a');
    tf.dispose(Object.values(await sample(dir)));
    const file = path.join(dir, 'weights.bin');
    fs.truncateSync(file, 10);
    expect(() => readTrainedArtifact(dir)).to.throw(
      ArtifactError,
      `${file}: is truncated: it has 10 bytes, the manifest lists 36. Delete ${dir} to train again (or run with --retrain)`,
    );
  });

  it('rejects a modified weights file (checksum), a truncated meta.json, a missing model.json and another key', async () => {
    const dir = path.join(tmp(), 'a');
    tf.dispose(Object.values(await sample(dir)));
    const bin = path.join(dir, 'weights.bin');
    const bytes = fs.readFileSync(bin);
    bytes[5] ^= 0xff;
    fs.writeFileSync(bin, bytes);
    expect(() => readTrainedArtifact(dir)).to.throw(ArtifactError, /weights\.bin: checksum mismatch: sha256 [0-9a-f]{12}\.\.\., recorded [0-9a-f]{12}\.\.\. \(the file was modified or corrupted\)\. Delete/);
    expect(() => readTrainedArtifact(dir, { expectedKey: 'x'.repeat(64) })).to.throw(ArtifactError, /meta\.json: was trained for other inputs \(key k{16}\.\.\., expected x{16}\.\.\.\)/);
    const meta = path.join(dir, 'meta.json');
    const text = fs.readFileSync(meta, 'utf8');
    fs.writeFileSync(meta, text.slice(0, 40));
    expect(() => readTrainedArtifact(dir)).to.throw(ArtifactError, `${meta}: is not valid JSON (40 bytes; truncated or corrupt). Delete ${dir}`);
    fs.writeFileSync(meta, text);
    fs.rmSync(path.join(dir, 'model.json'));
    expect(() => readTrainedArtifact(dir)).to.throw(ArtifactError, `${path.join(dir, 'model.json')}: is missing (the directory is incomplete)`);
  });

  it('refuses an edited model.json (a weight\'s dtype) or meta.json (a field results.json copies), naming the file and the fix', async () => {
    const dir = path.join(tmp(), 'a');
    tf.dispose(Object.values(await sample(dir)));
    const fix = `Delete ${dir} to train again (or run with --retrain)`;
    const modelFile = path.join(dir, 'model.json');
    const metaFile = path.join(dir, 'meta.json');
    const modelText = fs.readFileSync(modelFile, 'utf8');
    const metaText = fs.readFileSync(metaFile, 'utf8');
    expect(JSON.parse(metaText).checksums).to.have.all.keys('model.json', 'meta.json');
    // White space and key order are not edits.
    fs.writeFileSync(metaFile, JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(metaText)).reverse())));
    tf.dispose(Object.values(readTrainedArtifact(dir).weights));

    const model = JSON.parse(modelText);
    model.weightsManifest[0].weights[1].dtype = 'int32'; // same byte count: only the checksum sees it
    fs.writeFileSync(modelFile, JSON.stringify(model, null, 2));
    expect(() => readTrainedArtifact(dir)).to.throw(
      ArtifactError,
      new RegExp(`^${escape(modelFile)}: was modified after training \\(its checksum [0-9a-f]{12}\\.\\.\\. differs from the [0-9a-f]{12}\\.\\.\\. recorded in meta\\.json\\)\\. ${escape(fix)}$`),
    );
    fs.writeFileSync(modelFile, modelText);

    const meta = JSON.parse(metaText);
    meta.candidate = 'other';
    fs.writeFileSync(metaFile, JSON.stringify(meta, null, 2));
    expect(() => readTrainedArtifact(dir)).to.throw(ArtifactError, new RegExp(`^${escape(metaFile)}: was modified after training .*\\. ${escape(fix)}$`));
    meta.candidate = 'c'; // a damaged checksums record is an edit too
    meta.checksums = 'none';
    fs.writeFileSync(metaFile, JSON.stringify(meta, null, 2));
    expect(() => readTrainedArtifact(dir)).to.throw(ArtifactError, `${metaFile}: was modified after training`);
  });

  it('an artifact without checksums (older gfra) is read, but a dtype it cannot hold is refused with the file', async () => {
    const dir = path.join(tmp(), 'a');
    tf.dispose(Object.values(await sample(dir)));
    const metaFile = path.join(dir, 'meta.json');
    const modelFile = path.join(dir, 'model.json');
    const { checksums: _dropped, ...legacy } = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    fs.writeFileSync(metaFile, JSON.stringify(legacy, null, 2));
    tf.dispose(Object.values(readTrainedArtifact(dir).weights));
    const model = JSON.parse(fs.readFileSync(modelFile, 'utf8'));
    model.weightsManifest[0].weights[0].dtype = 'complex64';
    fs.writeFileSync(modelFile, JSON.stringify(model, null, 2));
    expect(() => readTrainedArtifact(dir)).to.throw(ArtifactError, `${modelFile}: lists weight "encoder/pilotsRe" with dtype "complex64"; weights are float32, int32, bool. Delete ${dir}`);
    model.weightsManifest[0].weights[0].dtype = 'int32';
    fs.writeFileSync(modelFile, JSON.stringify(model, null, 2));
    const { weights } = readTrainedArtifact(dir);
    expect(() => checkWeightsMatch(modelFile, weights, { 'encoder/pilotsRe': [2, 3], 'detector/output/bias': [3] }, 'Fix it.')).to.throw(
      ArtifactError,
      `${modelFile}: holds "encoder/pilotsRe" as int32, but trainable variables are float32. Fix it.`,
    );
    tf.dispose(Object.values(weights));
  });

  it('checkWeightsMatch names missing, extra and mis-shaped weights', () => {
    const w = { a: tf.zeros([2, 3]), extra: tf.zeros([1]) };
    expect(() => checkWeightsMatch('f', w, { a: [3, 2], b: [1] }, 'Fix it.')).to.throw(
      'f: holds "a" with shape [2,3], but the plugin\'s variable has shape [3,2]; has no weight "b"; holds "extra", which no plugin of this candidate has. Fix it.',
    );
    tf.dispose(Object.values(w));
  });

  it('checkpoints: save, load, overwrite atomically, reject a truncated one', async () => {
    const dir = path.join(tmp(), 'c.checkpoint');
    const store = directoryCheckpointStore(dir);
    expect(store.load()).to.equal(undefined);
    const t = tf.tensor1d([1, 2, 3]);
    await store.save({ state: { step: 1 }, tensors: { 'weights/x': t } });
    await store.save({ state: { step: 2 }, tensors: { 'weights/x': t } });
    const back = store.load();
    expect(back?.state).to.deep.equal({ step: 2 });
    expect(Array.from(back?.tensors['weights/x'].dataSync() ?? [])).to.deep.equal([1, 2, 3]);
    expect(fs.readdirSync(path.dirname(dir))).to.deep.equal(['c.checkpoint']);
    fs.truncateSync(path.join(dir, 'checkpoint.bin'), 4);
    expect(() => store.load()).to.throw(ArtifactError, /checkpoint\.bin: is truncated: it has 4 bytes, the manifest lists 12\. Delete .* to restart this training from scratch \(or run with --retrain\)/);
    store.clear();
    expect(fs.existsSync(dir)).to.equal(false);
    tf.dispose([t, ...Object.values(back?.tensors ?? {})]);
  });
});

import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, BACKEND_CHOICES, type BackendChoice, type ModuleLoader } from './backend';
import { GfraUserError } from './errors';

const GPU = '@tensorflow/tfjs-node-gpu';
const NODE = '@tensorflow/tfjs-node';
const WASM = '@tensorflow/tfjs-backend-wasm';
const CPU = '@tensorflow/tfjs-backend-cpu';

/** What Node throws for a package that is not installed. */
function notFound(name: string): Error {
  return Object.assign(new Error(`Cannot find module '${name}'\nRequire stack:\n- somewhere`), { code: 'MODULE_NOT_FOUND' });
}

/**
 * A loader that simulates packages: `missing` are not installed, `broken` throw the given error,
 * anything else is really required (the wasm and cpu backends are dependencies of core).
 * Records the names asked for, in order.
 */
function fakeLoader(missing: readonly string[], broken: Readonly<Record<string, Error>> = {}): ModuleLoader & { asked: string[] } {
  const asked: string[] = [];
  const load = (name: string): unknown => {
    asked.push(name);
    if (missing.includes(name)) throw notFound(name);
    if (name in broken) throw broken[name];
    return require(name);
  };
  return Object.assign(load, { asked });
}

/** The error a promise rejects with (fails if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('backend', () => {
  // The backend the root hook selected (GFRA_TEST_BACKEND, default wasm), restored after the
  // tests that switch backends so that other test files keep it.
  let testBackend: BackendChoice = 'wasm';
  const restore = async () => {
    await selectBackend(testBackend);
  };

  before(() => {
    const current = tf.getBackend();
    if ((BACKEND_CHOICES as readonly string[]).includes(current)) testBackend = current as BackendChoice;
  });

  after(async () => {
    await restore();
    expect(tf.getBackend()).to.equal(testBackend);
  });

  it('lists the choices', () => {
    expect([...BACKEND_CHOICES]).to.deep.equal(['auto', 'tensorflow', 'wasm', 'cpu']);
  });

  it("'auto' without the native packages picks wasm and says both native packages are not installed", async () => {
    const load = fakeLoader([GPU, NODE]);
    const sel = await selectBackend('auto', load);
    expect(sel.backend).to.equal('wasm');
    expect(sel.provider).to.equal(WASM);
    expect(sel.log).to.deep.equal([`${GPU}: not installed`, `${NODE}: not installed`, `${WASM}: selected backend "wasm"`]);
    expect(load.asked).to.deep.equal([GPU, NODE, WASM]);
    expect(tf.getBackend()).to.equal('wasm');
    await restore();
  });

  it("'auto' falls back to cpu when wasm fails to load, with the first line of the error in the log", async () => {
    const load = fakeLoader([GPU, NODE], { [WASM]: new Error('wasm binary missing\nsecond line') });
    // silence tfjs-backend-cpu's "install our node backend" banner on first use
    const wasTest = tf.env().getBool('IS_TEST');
    tf.env().set('IS_TEST', true);
    try {
      const sel = await selectBackend('auto', load);
      expect(sel.backend).to.equal('cpu');
      expect(sel.provider).to.equal(CPU);
      expect(sel.log).to.deep.equal([
        `${GPU}: not installed`,
        `${NODE}: not installed`,
        `${WASM}: failed to load (wasm binary missing)`,
        `${CPU}: selected backend "cpu"`,
      ]);
      expect(tf.getBackend()).to.equal('cpu');
      // and the cpu backend computes
      expect(tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0])).to.equal(6);
    } finally {
      tf.env().set('IS_TEST', wasTest);
      await restore();
    }
  });

  it("'auto' moves on when a native package loads but its backend is not registered", async () => {
    // The package "loads" (returns an empty module) but registers no 'tensorflow' backend.
    const load: ModuleLoader = (name) => (name === GPU || name === NODE ? {} : require(name));
    const sel = await selectBackend('auto', load);
    expect(sel.backend).to.equal('wasm');
    expect(sel.log).to.have.length(3);
    expect(sel.log[0]).to.match(new RegExp(`^${GPU}: backend "tensorflow" failed to initialise`));
    expect(sel.log[1]).to.match(new RegExp(`^${NODE}: backend "tensorflow" failed to initialise`));
    await restore();
  });

  // A missing file inside an installed package (e.g. tfjs-node whose native binding did not
  // download, tensorflow/tfjs#2678) is a broken install, not a missing package.
  it('reports a missing file inside an installed native package as a broken install, not "not installed"', async () => {
    const binding = `/app/node_modules/${NODE}/lib/napi-v8/tfjs_binding.node`;
    const load: ModuleLoader = (name) => {
      if (name === GPU) throw notFound(name);
      if (name === NODE) throw notFound(binding);
      return require(name);
    };
    const sel = await selectBackend('auto', load);
    expect(sel.backend).to.equal('wasm');
    expect(sel.log[0]).to.equal(`${GPU}: not installed`);
    expect(sel.log[1]).to.equal(`${NODE}: failed to load (Cannot find module '${binding}')`);
  });

  it("explicit 'tensorflow' without the native packages throws a GfraUserError that says what to install", async () => {
    const err = await rejection(selectBackend('tensorflow', fakeLoader([GPU, NODE])));
    expect(err).to.be.instanceOf(GfraUserError);
    expect(err.message).to.match(/No usable compute backend for "tensorflow"/);
    expect(err.message).to.include(`${GPU}: not installed`);
    expect(err.message).to.include(`${NODE}: not installed`);
    expect(err.message).to.match(/Install @tensorflow\/tfjs-node or @tensorflow\/tfjs-node-gpu/);
    expect(err.message).to.match(/--backend auto/);
    expect(tf.getBackend()).to.equal(testBackend);
  });

  it("explicit 'wasm' that fails to load throws and suggests reinstalling", async () => {
    const err = await rejection(selectBackend('wasm', fakeLoader([WASM])));
    expect(err).to.be.instanceOf(GfraUserError);
    expect(err.message).to.include(`${WASM}: not installed`);
    expect(err.message).to.match(/Reinstall dependencies with pnpm install/);
  });

  it('an unknown choice throws, listing the valid ones', async () => {
    const load = fakeLoader([]);
    const err = await rejection(selectBackend('gpu' as BackendChoice, load));
    expect(err).to.be.instanceOf(GfraUserError);
    expect(err.message).to.equal('Unknown backend "gpu". Use one of: auto, tensorflow, wasm, cpu');
    expect(load.asked).to.deep.equal([]);
  });
});

import { expect } from 'chai';
import { GfraUserError } from '@gfra/core';
import { ampWasm, resetWasmForTests, wasmDescription } from './index';

describe('WebAssembly kernels: the GFRA_WASM setting', () => {
  const before = process.env.GFRA_WASM;
  afterEach(() => {
    if (before === undefined) delete process.env.GFRA_WASM;
    else process.env.GFRA_WASM = before;
    resetWasmForTests();
  });

  const setting = (value: string | undefined) => {
    if (value === undefined) delete process.env.GFRA_WASM;
    else process.env.GFRA_WASM = value;
    resetWasmForTests();
  };

  it('off, 0 and false turn the kernels off; unset, on, 1, true and auto leave them on', () => {
    for (const value of ['off', '0', 'false', ' OFF ']) {
      setting(value);
      expect(ampWasm(), value).to.equal(undefined);
      expect(wasmDescription(), value).to.equal('off (GFRA_WASM=off)');
    }
    for (const value of [undefined, '', 'on', '1', 'true', 'auto']) {
      setting(value);
      expect(ampWasm(), String(value)).to.not.equal(undefined);
      expect(wasmDescription(), String(value)).to.equal('WebAssembly SIMD');
    }
  });

  it('any other value is a user error that names the setting and its values', () => {
    setting('of');
    expect(() => ampWasm()).to.throw(GfraUserError, /GFRA_WASM=of is not a known setting: use GFRA_WASM=off/);
    expect(() => wasmDescription()).to.throw(GfraUserError, /GFRA_WASM=of/);
  });
});

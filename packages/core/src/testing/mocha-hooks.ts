/** Mocha root hooks for every package: select the test backend once (GFRA_TEST_BACKEND, default wasm). */
import { selectBackend, type BackendChoice } from '../backend';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    const choice = (process.env.GFRA_TEST_BACKEND ?? 'wasm') as BackendChoice;
    await selectBackend(choice);
  },
};

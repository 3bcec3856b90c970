/**
 * Compute backend selection.
 *
 * `auto` tries, in order: `@tensorflow/tfjs-node-gpu` (CUDA), `@tensorflow/tfjs-node`
 * (native TensorFlow), `@tensorflow/tfjs-backend-wasm`, and the pure-JS `cpu` backend. The
 * native packages download libtensorflow when they install, so they are optional: gfra loads
 * them only when present and says which backend it chose and why the others were skipped.
 */
import * as tf from '@tensorflow/tfjs';
import { GfraUserError } from './errors';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The outcome of a selection: the tfjs backend name and a note for each option tried. */
export interface BackendSelection {
  /** tfjs backend name now active: `tensorflow`, `wasm` or `cpu`. */
  readonly backend: string;
  /** The package that provides it. */
  readonly provider: string;
  /** One line per option tried, e.g. `@tensorflow/tfjs-node-gpu: not installed`. */
  readonly log: readonly string[];
}

/** Loads a module by name; injectable so tests can simulate absent or broken packages. */
export type ModuleLoader = (name: string) => unknown;

const defaultLoader: ModuleLoader = (name) => require(name);

interface Option {
  readonly provider: string;
  readonly backend: string;
}

const NATIVE: readonly Option[] = [
  { provider: '@tensorflow/tfjs-node-gpu', backend: 'tensorflow' },
  { provider: '@tensorflow/tfjs-node', backend: 'tensorflow' },
];
const WASM: Option = { provider: '@tensorflow/tfjs-backend-wasm', backend: 'wasm' };
const CPU: Option = { provider: '@tensorflow/tfjs-backend-cpu', backend: 'cpu' };

function optionsFor(choice: BackendChoice): readonly Option[] {
  switch (choice) {
    case 'auto':
      return [...NATIVE, WASM, CPU];
    case 'tensorflow':
      return NATIVE;
    case 'wasm':
      return [WASM];
    case 'cpu':
      return [CPU];
  }
}

/**
 * Why loading `provider` failed. "not installed" only when the package itself is missing: a
 * missing file inside an installed package (e.g. tfjs-node whose native binding did not
 * download) is a load failure, reported with Node's message.
 */
function describe(err: unknown, provider: string): string {
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  const code = (err as { code?: string }).code;
  if (code === 'MODULE_NOT_FOUND' && first.includes(`'${provider}'`)) return 'not installed';
  return `failed to load (${first})`;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/**
 * Select and initialise a backend. Throws a {@link GfraUserError} when an explicit choice is not
 * available (e.g. `tensorflow` without the native packages), naming what to install.
 */
export async function selectBackend(choice: BackendChoice = 'auto', load: ModuleLoader = defaultLoader): Promise<BackendSelection> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new GfraUserError(`Unknown backend "${choice}". Use one of: ${BACKEND_CHOICES.join(', ')}`);
  }
  const log: string[] = [];
  for (const option of optionsFor(choice)) {
    try {
      load(option.provider);
    } catch (err) {
      log.push(`${option.provider}: ${describe(err, option.provider)}`);
      continue;
    }
    let ok = false;
    try {
      ok = await tf.setBackend(option.backend);
      if (ok) await tf.ready();
    } catch (err) {
      log.push(`${option.provider}: backend "${option.backend}" failed to initialise (${firstLine(err)})`);
      continue;
    }
    if (!ok) {
      log.push(`${option.provider}: backend "${option.backend}" failed to initialise`);
      continue;
    }
    log.push(`${option.provider}: selected backend "${option.backend}"`);
    return { backend: option.backend, provider: option.provider, log };
  }
  const hint =
    choice === 'tensorflow'
      ? 'Install @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu (needs internet access to download libtensorflow), or use --backend auto'
      : 'Reinstall dependencies with pnpm install';
  throw new GfraUserError(`No usable compute backend for "${choice}":\n  ${log.join('\n  ')}\n${hint}`);
}

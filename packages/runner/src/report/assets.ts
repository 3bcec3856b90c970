/**
 * The browser libraries a report inlines (so it opens with no network access): Vega, Vega-Lite
 * and vega-embed, as the minified UMD builds their npm packages ship.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface InlineLibrary {
  readonly name: string;
  readonly version: string;
  readonly code: string;
}

const BUILDS: readonly (readonly [string, string])[] = [
  ['vega', 'vega.min.js'],
  ['vega-lite', 'vega-lite.min.js'],
  ['vega-embed', 'vega-embed.min.js'],
];

let cache: InlineLibrary[] | undefined;

function isPackageRoot(dir: string, name: string): boolean {
  const file = path.join(dir, 'package.json');
  return fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === name;
}

/** The nearest directory above the package's main entry (`build/…`) with its package.json. */
function packageDir(name: string): string {
  let dir = path.dirname(require.resolve(name));
  while (!isPackageRoot(dir, name)) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the package directory of ${name}`);
    dir = up;
  }
  return dir;
}

/** Vega, Vega-Lite and vega-embed, in load order. */
export function inlineLibraries(): InlineLibrary[] {
  if (cache === undefined) {
    cache = BUILDS.map(([name, file]) => {
      // The UMD build sits beside the main entry (build/) in all three packages.
      const code = fs.readFileSync(path.join(path.dirname(require.resolve(name)), file), 'utf8');
      const { version } = JSON.parse(fs.readFileSync(path.join(packageDir(name), 'package.json'), 'utf8')) as { version: string };
      return { name, version, code };
    });
  }
  return cache;
}

/** The report's own browser script (charts, toggles). */
export function clientScript(): string {
  return fs.readFileSync(path.join(__dirname, 'client.js'), 'utf8');
}

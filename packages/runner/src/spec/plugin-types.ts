/**
 * Type-check a spec's TypeScript plugin modules (`gfra validate`): a run only transpiles them, so
 * a type error would otherwise surface as a wrong number or a crash halfway through a sweep.
 *
 * The modules are checked with gfra's compiler settings (strict, decorators with metadata), and
 * a bare import the plugin's folder cannot resolve is resolved from gfra's own packages — as at
 * run time (see plugins.ts) — so a plugin file in any folder sees `@gfra/core`, tfjs and
 * typebox. Only problems inside the plugin files are reported, each as `file:line:column`.
 */
import * as path from 'node:path';
import type * as TS from 'typescript';

/** One type error in a plugin file. */
export interface PluginTypeError {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly column: number;
  /** `TS2322: Type 'string' is not assignable to type 'number'.` */
  readonly message: string;
}

/** Type errors in the given `.ts` files (other files are ignored). */
export function typeCheckPlugins(files: readonly string[]): PluginTypeError[] {
  const roots = files.filter((f) => /\.(c|m)?tsx?$/.test(f)).map((f) => path.resolve(f));
  if (roots.length === 0) return [];
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const ts = require('typescript') as typeof TS;
  const options: TS.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
    typeRoots: [path.join(path.dirname(require.resolve('@types/node/package.json', { paths: [__dirname] })), '..')],
  };
  const host = ts.createCompilerHost(options);
  // gfra's own folder: bare imports the plugin's folder cannot resolve are resolved from here.
  const fallbackFrom = path.join(__dirname, 'plugin-types.ts');
  host.resolveModuleNames = (names, containingFile) =>
    names.map((name) => {
      const direct = ts.resolveModuleName(name, containingFile, options, host).resolvedModule;
      if (direct !== undefined || name.startsWith('.') || path.isAbsolute(name)) return direct;
      return ts.resolveModuleName(name, fallbackFrom, options, host).resolvedModule;
    });
  const program = ts.createProgram({ rootNames: roots, options, host });
  const inRoots = new Set(roots.map((r) => path.normalize(r)));
  const out: PluginTypeError[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.file === undefined || !inRoots.has(path.normalize(d.file.fileName))) continue;
    if (d.category !== ts.DiagnosticCategory.Error) continue;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    out.push({
      file: d.file.fileName,
      line: line + 1,
      column: character + 1,
      message: `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
    });
  }
  return out;
}

/**
 * Headless rendering: Vega-Lite -> Vega (compiled by vega-lite) -> SVG (vega's SVG renderer,
 * no browser or canvas needed) -> PNG (resvg, with the DejaVu fonts shipped by an npm package,
 * so a figure renders the same on every machine whatever fonts it has installed).
 */
import * as path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Compile a Vega-Lite spec and render it to an SVG document. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

let fontFiles: string[] | undefined;

function dejaVu(): string[] {
  if (fontFiles === undefined) {
    const dir = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
    fontFiles = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf'].map((f) => path.join(dir, f));
  }
  return fontFiles;
}

/** Rasterise an SVG document to PNG at `scale` times its size (2 = print-friendly). */
export function renderPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: {
      fontFiles: dejaVu(),
      loadSystemFonts: false,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  });
  return resvg.render().asPng();
}

/**
 * Headless rendering: Vega-Lite -> Vega (compiled by vega-lite) -> SVG (vega's SVG renderer,
 * no browser or canvas needed) -> PNG (resvg) or PDF (pdfkit with svg-to-pdfkit, vector, the
 * text as text). All three use the DejaVu fonts shipped by an npm package, so a figure renders the
 * same on every machine whatever fonts it has installed; Vega's layout measures text with them.
 */
import * as zlib from 'node:zlib';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { dejaVuFile, faceOf, pdfKit, registerDejaVu, textWidth, type PdfKitDocument } from './fonts';

interface TextItem {
  readonly fontSize?: number;
  readonly fontWeight?: string | number;
  readonly fontStyle?: string;
}

let measuring = false;

/** Let Vega measure text with DejaVu Sans instead of its 0.8 em per character guess. */
function measureWithDejaVu(): void {
  if (measuring) return;
  const metrics = (vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
  metrics.width = (item: TextItem, text: unknown) => {
    const bold = item.fontWeight === 'bold' || (typeof item.fontWeight === 'number' && item.fontWeight >= 600);
    return textWidth(text === null || text === undefined ? '' : String(text), item.fontSize ?? 11, bold, item.fontStyle === 'italic');
  };
  measuring = true;
}

/**
 * Vega-Lite's warnings, less the one a figure always triggers on purpose: marker shape and dash
 * encode the same field as colour with their own legends off (the colour legend draws both).
 */
const logger = {
  level(): number {
    return 2;
  },
  warn(...args: unknown[]) {
    if (!args.some((a) => typeof a === 'string' && a.startsWith('Conflicting legend property "disable"'))) console.warn('WARN', ...args);
    return this;
  },
  info() {
    return this;
  },
  debug() {
    return this;
  },
  error(...args: unknown[]) {
    console.error('ERROR', ...args);
    return this;
  },
};

/** Compile a Vega-Lite spec and render it to an SVG document. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  measureWithDejaVu();
  const compiled = compile(spec as unknown as TopLevelSpec, { logger: logger as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    // A solid line's dash is [1, 0] (a dash scale needs a value per series); drop it from the SVG.
    return (await view.toSVG()).replace(/ stroke-dasharray="1,0"/g, '');
  } finally {
    view.finalize();
  }
}

/** Width and height of an SVG document in its own units (Vega writes px; gfra's print figures use 1 px = 1 pt). */
export function svgSize(svg: string): { width: number; height: number } {
  const m = svg.match(/^<svg [^>]*?width="([\d.]+)" height="([\d.]+)"/);
  if (m === null) throw new Error('not an SVG document with a width and height');
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Rasterise an SVG document to PNG at `scale` times its size (2 = print-friendly). */
export function renderPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: {
      fontFiles: [dejaVuFile('regular'), dejaVuFile('bold'), dejaVuFile('oblique'), dejaVuFile('boldOblique')],
      loadSystemFonts: false,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  });
  return resvg.render().asPng();
}

/**
 * The PNG with its resolution recorded (a pHYs chunk after IHDR, in pixels per metre), so that
 * LaTeX and word processors place a 300 dpi print figure at its physical size.
 */
export function withDpi(png: Buffer, dpi: number): Buffer {
  const signature = 8;
  const ihdrEnd = signature + 8 + png.readUInt32BE(signature) + 4;
  if (png.toString('latin1', signature + 4, signature + 8) !== 'IHDR') throw new Error('not a PNG (no IHDR chunk first)');
  const perMetre = Math.round(dpi / 0.0254);
  const body = Buffer.alloc(4 + 9);
  body.write('pHYs', 0, 'latin1');
  body.writeUInt32BE(perMetre, 4);
  body.writeUInt32BE(perMetre, 8);
  body.writeUInt8(1, 12); // unit: metre
  const chunk = Buffer.alloc(4 + body.length + 4);
  chunk.writeUInt32BE(9, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(zlib.crc32(body), 4 + body.length);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

type SvgToPdf = (doc: PdfKitDocument, svg: string, x: number, y: number, options: Record<string, unknown>) => void;

/**
 * A one-page vector PDF of an SVG document, the page exactly the SVG's size with 1 SVG unit =
 * 1 pt (so a figure laid out at 252 x 187 units is a 3.5 x 2.6 in page). The DejaVu faces are
 * embedded (subset) and text stays text.
 */
export async function renderPdf(svg: string): Promise<Buffer> {
  const { width, height } = svgSize(svg);
  const PDFDocument = pdfKit();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const svgToPdf = require('svg-to-pdfkit') as SvgToPdf;
  const doc = new PDFDocument({ size: [width, height], margin: 0, info: { Producer: 'gfra', Creator: 'gfra plot' } });
  registerDejaVu(doc);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk) => chunks.push(chunk as Buffer));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', (err) => reject(err));
  });
  svgToPdf(doc, svg, 0, 0, {
    width,
    height,
    assumePt: true,
    fontCallback: (_family: string, bold: boolean, italic: boolean) => `DejaVu-${faceOf(bold, italic)}`,
    warningCallback: () => undefined,
  });
  doc.end();
  return done;
}

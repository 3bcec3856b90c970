/**
 * The DejaVu fonts every figure uses (shipped by an npm package, so a figure looks the same on
 * every machine): their files for the PNG (resvg) and PDF (pdfkit) renderers, and text widths
 * measured from the font itself for Vega's layout (without a canvas, Vega guesses 0.8 em per
 * character, which makes legends and axis titles far wider than they are).
 */
import * as path from 'node:path';

export type FontFace = 'regular' | 'bold' | 'oblique' | 'boldOblique';

const FILES: Readonly<Record<FontFace, string>> = {
  regular: 'DejaVuSans.ttf',
  bold: 'DejaVuSans-Bold.ttf',
  oblique: 'DejaVuSans-Oblique.ttf',
  boldOblique: 'DejaVuSans-BoldOblique.ttf',
};

let dir: string | undefined;

/** The TTF file of a face of DejaVu Sans. */
export function dejaVuFile(face: FontFace): string {
  dir ??= path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return path.join(dir, FILES[face]);
}

/** The minimal part of pdfkit's document that this module and render.ts use. */
export interface PdfKitDocument {
  registerFont(name: string, file: string): PdfKitDocument;
  font(name: string): PdfKitDocument;
  fontSize(size: number): PdfKitDocument;
  widthOfString(text: string): number;
  on(event: string, listener: (chunk?: Buffer) => void): PdfKitDocument;
  end(): void;
}
export type PdfKitConstructor = new (options: Record<string, unknown>) => PdfKitDocument;

/** pdfkit's PDFDocument (CommonJS, no bundled types). */
export function pdfKit(): PdfKitConstructor {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('pdfkit') as PdfKitConstructor;
}

/** Register the four faces on a pdfkit document as `DejaVu-<face>`. */
export function registerDejaVu(doc: PdfKitDocument): void {
  for (const face of Object.keys(FILES) as FontFace[]) doc.registerFont(`DejaVu-${face}`, dejaVuFile(face));
}

export function faceOf(bold: boolean, italic: boolean): FontFace {
  return bold ? (italic ? 'boldOblique' : 'bold') : italic ? 'oblique' : 'regular';
}

let measurer: PdfKitDocument | undefined;

/** Width of `text` in DejaVu Sans at `size` (same unit as `size`), from the font's advance widths. */
export function textWidth(text: string, size: number, bold = false, italic = false): number {
  if (measurer === undefined) {
    const PDFDocument = pdfKit();
    measurer = new PDFDocument({ autoFirstPage: false });
    registerDejaVu(measurer);
  }
  return measurer.font(`DejaVu-${faceOf(bold, italic)}`).fontSize(size).widthOfString(text);
}

/**
 * A minimal PNG decoder for tests (8-bit grey, RGB or RGBA, not interlaced): enough to check a
 * rendered figure's size and pixels without another dependency.
 */
import * as zlib from 'node:zlib';

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** RGBA, 4 bytes per pixel, row-major. */
  readonly rgba: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodePng(buf: Buffer): DecodedPng {
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG file (bad signature)');
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  for (let at = 8; at < buf.length; ) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('ascii', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const bitDepth = data[8];
      colorType = data[9];
      if (bitDepth !== 8 || !(colorType in CHANNELS) || data[12] !== 0) {
        throw new Error(`unsupported PNG: bit depth ${bitDepth}, colour type ${colorType}, interlace ${data[12]}`);
      }
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  const bpp = CHANNELS[colorType];
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? pixels[y * stride + i - bpp] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i] : 0;
      const c = i >= bpp && y > 0 ? pixels[(y - 1) * stride + i - bpp] : 0;
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      if (predictor === undefined) throw new Error(`bad PNG filter ${filter} on row ${y}`);
      pixels[y * stride + i] = (line[i] + predictor) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const s = pixels.subarray(p * bpp, p * bpp + bpp);
    const [r, g, b, alpha] = bpp === 1 ? [s[0], s[0], s[0], 255] : bpp === 2 ? [s[0], s[0], s[0], s[1]] : bpp === 3 ? [s[0], s[1], s[2], 255] : [s[0], s[1], s[2], s[3]];
    rgba.set([r, g, b, alpha], p * 4);
  }
  return { width, height, rgba };
}

/** Variance of the grey level (0..255) over all pixels: 0 for a blank image. */
export function greyVariance(png: DecodedPng): number {
  let sum = 0;
  let sum2 = 0;
  const n = png.width * png.height;
  for (let p = 0; p < n; p++) {
    const g = (png.rgba[p * 4] + png.rgba[p * 4 + 1] + png.rgba[p * 4 + 2]) / 3;
    sum += g;
    sum2 += g * g;
  }
  return sum2 / n - (sum / n) ** 2;
}

/** How many pixels are within `tolerance` (per channel) of the colour `#rrggbb`. */
export function countColor(png: DecodedPng, hex: string, tolerance = 12): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let count = 0;
  for (let p = 0; p < png.width * png.height; p++) {
    const o = p * 4;
    if (Math.abs(png.rgba[o] - r) <= tolerance && Math.abs(png.rgba[o + 1] - g) <= tolerance && Math.abs(png.rgba[o + 2] - b) <= tolerance) count++;
  }
  return count;
}

/** Map JSON paths to line/column in the spec text, and format paths for messages. */
import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';

export type PathSegment = string | number;

/** `candidates.amp.detector.params.damping`, `metrics[0].plugin`, `sweep["a, b"][1]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$+-]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Split an ajv instancePath (JSON pointer) into segments. */
export function pointerSegments(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export class JsonLocator {
  private readonly root: Node | undefined;
  private readonly lineStarts: number[] = [0];

  constructor(text: string) {
    this.root = parseTree(text);
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }

  /** Line and column (1-based) of the deepest existing node on `segments`. */
  locate(segments: readonly PathSegment[]): { line: number; column: number } | undefined {
    if (this.root === undefined) return undefined;
    for (let n = segments.length; n >= 0; n--) {
      const node = findNodeAtLocation(this.root, segments.slice(0, n) as (string | number)[]);
      if (node !== undefined) {
        // For a property value, point at its key.
        const at = node.parent?.type === 'property' ? node.parent.offset : node.offset;
        return this.position(at);
      }
    }
    return undefined;
  }

  private position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo] + 1 };
  }
}

/** Line/column of a JSON.parse error in `text`, from the "position N" in its message. */
export function parseErrorPosition(text: string, message: string): { line: number; column: number } | undefined {
  const m = /position (\d+)/.exec(message);
  if (m === null) return undefined;
  const offset = Number(m[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

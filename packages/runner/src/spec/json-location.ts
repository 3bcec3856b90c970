/** Map JSON paths to line/column in the spec text, and format paths for messages. */
import { findNodeAtLocation, parse, ParseErrorCode, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';

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

  constructor(private readonly text: string) {
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

  /** The text of the value at exactly `segments` as written in the file (e.g. `1e309`), if it exists. */
  literal(segments: readonly PathSegment[]): string | undefined {
    if (this.root === undefined) return undefined;
    const node = findNodeAtLocation(this.root, segments as (string | number)[]);
    return node === undefined ? undefined : this.text.slice(node.offset, node.offset + node.length);
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

const PARSE_ERRORS: Record<number, string> = {
  1: 'unexpected character',
  2: 'invalid number',
  3: 'a property name in double quotes was expected',
  4: 'a value was expected',
  5: 'a colon was expected',
  6: 'a comma was expected',
  7: 'a closing brace } was expected',
  8: 'a closing bracket ] was expected',
  9: 'unexpected content after the end of the spec',
  10: 'comments are not allowed in JSON',
  11: 'unterminated comment',
  12: 'unterminated string',
  13: 'unterminated number',
  14: 'invalid unicode escape',
  15: 'invalid escape character in a string',
  16: 'invalid character in a string',
};

/** A JSON syntax problem with its position and, where it helps, a fix. */
export interface SyntaxProblem {
  readonly message: string;
  readonly hint?: string;
  readonly line: number;
  readonly column: number;
}

/**
 * The first JSON syntax error in `text` (later ones usually follow from it), or undefined.
 * Strict JSON: no comments, no trailing commas.
 */
export function jsonSyntaxError(text: string): SyntaxProblem | undefined {
  if (text.trim() === '') return { message: 'the file is empty', hint: 'A spec is a JSON object: { "name": ..., "seed": ..., ... }', line: 1, column: 1 };
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length === 0) return undefined;
  const e = errors[0];
  const { line, column } = positionOf(text, e.offset);
  const before = text.slice(0, e.offset).trimEnd();
  const token = /^[A-Za-z_]+/.exec(text.slice(e.offset))?.[0];
  let hint: string | undefined;
  if (before.endsWith(',') && (e.error === ParseErrorCode.PropertyNameExpected || e.error === ParseErrorCode.ValueExpected)) hint = 'Remove the trailing comma';
  else if (token !== undefined && /^(True|False|None|NaN|Infinity|undefined)$/.test(token)) hint = 'JSON spells these true, false and null; numbers must be finite';
  else if (token !== undefined) hint = 'Put strings and property names in double quotes';
  return { message: `is not valid JSON: ${PARSE_ERRORS[e.error] ?? printParseErrorCode(e.error)}`, hint, line, column };
}

function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Keys defined twice in the same object (JSON.parse silently keeps the last one). */
export function duplicateKeys(text: string): { segments: PathSegment[]; firstLine: number; line: number; column: number }[] {
  const root = parseTree(text);
  const out: { segments: PathSegment[]; firstLine: number; line: number; column: number }[] = [];
  const walk = (node: Node | undefined, segments: PathSegment[]) => {
    if (node === undefined) return;
    if (node.type === 'object') {
      const seen = new Map<string, number>();
      for (const prop of node.children ?? []) {
        const keyNode = prop.children?.[0];
        const key = keyNode?.value as string;
        const at = positionOf(text, prop.offset);
        const first = seen.get(key);
        if (first !== undefined) out.push({ segments: [...segments, key], firstLine: first, ...at });
        else seen.set(key, at.line);
        walk(prop.children?.[1], [...segments, key]);
      }
    } else if (node.type === 'array') {
      (node.children ?? []).forEach((child, i) => walk(child, [...segments, i]));
    }
  };
  walk(root, []);
  return out;
}

/**
 * Errors a user can cause. Every one carries where (file, JSON path), what was wrong and how to
 * fix it; the CLI prints them without a stack trace and exits with status 2.
 */

/** Base class of every error caused by user input (spec, CLI flags, plugin parameters, files). */
export class GfraUserError extends Error {
  override readonly name: string = 'GfraUserError';
  constructor(message: string) {
    super(message);
  }
}

/** One problem found in a spec. */
export interface SpecIssue {
  /** Location as a dotted path with [i] for indices, e.g. `candidates.amp.detector.params.damping`. */
  readonly path: string;
  /** What is wrong, e.g. `must be <= 1 (got 1.5)`. */
  readonly message: string;
  /** How to fix it, e.g. `did you mean "rayleigh"?`. */
  readonly hint?: string;
  /** 1-based line and column in the spec file, when known. */
  readonly line?: number;
  readonly column?: number;
}

/** A spec with one or more problems; all of them are listed at once. */
export class SpecError extends GfraUserError {
  override readonly name = 'SpecError';
  constructor(
    readonly file: string,
    readonly issues: readonly SpecIssue[],
  ) {
    super(formatSpecIssues(file, issues));
  }
}

export function formatSpecIssue(file: string, issue: SpecIssue): string {
  const where = issue.line !== undefined ? `${file}:${issue.line}:${issue.column ?? 1}` : file;
  const path = issue.path === '' ? '(root)' : issue.path;
  return `${where}: ${path}: ${issue.message}${issue.hint ? `. ${issue.hint}` : ''}`;
}

export function formatSpecIssues(file: string, issues: readonly SpecIssue[]): string {
  const head = `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the spec`;
  return [head, ...issues.map((i) => `  - ${formatSpecIssue(file, i)}`)].join('\n');
}

/**
 * An error thrown while a plugin ran, re-thrown by the runner with the plugin key
 * (`detector:mmv-amp`) and the spec path of its configuration. A plugin's own `Error` is kept
 * as `cause`.
 */
export class PipelineError extends GfraUserError {
  override readonly name = 'PipelineError';
  constructor(
    readonly pluginKey: string,
    readonly specPath: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`[${pluginKey}] ${specPath}: ${detail}`);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** Whether `short` is an abbreviation of `long`: same first letter, its letters in order. */
function abbreviates(short: string, long: string): boolean {
  if (short.length < 3 || short[0] !== long[0]) return false;
  let j = 0;
  for (const ch of long) if (ch === short[j]) j += 1;
  return j === short.length;
}

/**
 * The closest of `candidates` to `name` (case-insensitive edit distance, a prefix/substring
 * match, or an abbreviation such as "seqLength" for "sequenceLength"), or undefined when nothing
 * is reasonably close.
 */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const score = cl.includes(lower) || lower.includes(cl) ? 0.5 : abbreviates(lower, cl) ? 1 : editDistance(lower, cl);
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(Math.max(name.length, best.length) / 3));
  return bestScore <= limit ? best : undefined;
}

/** `did you mean "x"?` or a list of the valid names. */
export function suggestion(name: string, valid: readonly string[]): string {
  const near = nearest(name, valid);
  const list = valid.length > 0 ? `Available: ${[...valid].sort().join(', ')}` : 'None are available';
  return near !== undefined ? `Did you mean "${near}"? ${list}` : list;
}

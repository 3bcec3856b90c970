/**
 * Reading results.json for figures and reports: a run directory or the file itself, checked
 * enough that a wrong file gives a user error instead of a crash deep inside a chart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GfraUserError } from '@gfra/core';
import type { JobResult, ResultsFile } from './format';

/**
 * Optional training record of a result (written by trained components; none exist yet).
 * `lossHistory` is a list of losses, or of `{ step, loss }` records, in training order.
 */
export interface TrainingRecord {
  readonly component?: string;
  readonly lossHistory?: readonly (number | { readonly step?: number; readonly loss: number })[];
  readonly validationLossHistory?: readonly (number | { readonly step?: number; readonly loss: number })[];
  readonly [key: string]: unknown;
}

/** A result as read back: the stable fields plus any that later versions add. */
export type StoredResult = JobResult & { readonly training?: TrainingRecord };

export type StoredResults = Omit<ResultsFile, 'results'> & { readonly results: StoredResult[] };

/** A results file and where it came from. */
export interface LoadedResults {
  /** The results.json path. */
  readonly file: string;
  /** The directory holding it (the run directory). */
  readonly dir: string;
  readonly data: StoredResults;
}

/** `runs/x` or `runs/x/results.json` -> the results.json path. */
export function resultsPath(target: string): string {
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) return path.join(target, 'results.json');
  return target;
}

/** Read and check a results.json (or the run directory holding one). Throws user errors. */
export function readResults(target: string): LoadedResults {
  const file = resultsPath(target);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') {
      throw new GfraUserError(`Results not found: ${file}. Give a results.json or the run directory that holds it (written by \`gfra run\`)`);
    }
    throw new GfraUserError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new GfraUserError(`${file} is not valid JSON (${(err as Error).message}); is it a results.json written by \`gfra run\`?`);
  }
  const problems = checkResults(data);
  if (problems.length > 0) {
    throw new GfraUserError(`${file} is not a gfra results file: ${problems.join('; ')}`);
  }
  return { file, dir: path.dirname(file), data: data as StoredResults };
}

function checkResults(data: unknown): string[] {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return ['expected a JSON object'];
  const d = data as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof d.name !== 'string') problems.push('"name" must be a string');
  if (d.spec === null || typeof d.spec !== 'object') problems.push('"spec" must be an object');
  if (!Array.isArray(d.results)) {
    problems.push('"results" must be a list');
    return problems;
  }
  d.results.forEach((r: unknown, i) => {
    const at = `results[${i}]`;
    if (r === null || typeof r !== 'object') {
      problems.push(`${at} must be an object`);
      return;
    }
    const row = r as Record<string, unknown>;
    if (typeof row.candidate !== 'string') problems.push(`${at}.candidate must be a string`);
    if (row.point === null || typeof row.point !== 'object') problems.push(`${at}.point must be an object`);
    if (row.metrics === null || typeof row.metrics !== 'object') problems.push(`${at}.metrics must be an object`);
  });
  return problems.slice(0, 5);
}

/**
 * The report's CSV downloads: each run's results in the long format of `gfra results export`
 * (`longRows`: one row per candidate x point x repetition x statistic), written as that command's
 * CSV writer (DuckDB's `COPY ... (FORMAT csv, HEADER true)`) writes them, so that a download and
 * an export of the same results are the same bytes. One CSV per run: runs sweep different
 * parameters, so their point columns differ.
 */
import { longRows } from '../cli/results';
import type { ResultsFile } from '../results/format';
import type { PlotRun } from '../plot/rows';
import type { ExportColumn } from '../results/store';

/**
 * A DOUBLE as DuckDB writes it: the shortest digits that read back to the same number, in fixed
 * notation with at least one decimal (`100.0`, `0.000123`) for decimal exponents -4 to 15, else
 * in exponent notation with a signed exponent of at least two digits (`1e-05`, `2.5e+16`).
 */
export function duckDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const [mantissa, exp] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, '0');
  const fraction = digits.slice(e + 1);
  return `${sign}${whole}.${fraction === '' ? '0' : fraction}`;
}

/** A VARCHAR field: quoted (quotes doubled) when empty or holding a quote, comma, line break or `#` (DuckDB's comment character). */
export function csvField(text: string): string {
  return text === '' || /[",\r\n#]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvValue(v: string | number | null, column: ExportColumn): string {
  if (v === null) return '';
  if (column.type === 'VARCHAR') return csvField(String(v));
  if (column.type === 'DOUBLE') return duckDouble(Number(v));
  return String(Math.trunc(Number(v)));
}

/** The CSV text of export columns and rows: a header line, one line per row, `\n` after each. */
export function csvText(columns: readonly ExportColumn[], rows: readonly (readonly (string | number | null)[])[]): string {
  const lines = [columns.map((c) => csvField(c.name)).join(','), ...rows.map((row) => row.map((v, i) => csvValue(v, columns[i])).join(','))];
  return `${lines.join('\n')}\n`;
}

/** A run's CSV download: its file name, the CSV text and its row count. */
export interface RunCsv {
  readonly run: string;
  readonly file: string;
  readonly rows: number;
  readonly text: string;
}

/** `quickstart-results.csv`: the run label, file-name safe. */
export function csvFileName(label: string): string {
  return `${label.replace(/[^A-Za-z0-9.+_-]/g, '_')}-results.csv`;
}

/** The long-format CSV of each run (`gfra results export --format csv` of its results). */
export function runCsvs(runs: readonly PlotRun[]): RunCsv[] {
  return runs.map((run) => {
    const { columns, rows } = longRows(run.data as unknown as ResultsFile);
    return { run: run.label, file: csvFileName(run.label), rows: rows.length, text: csvText(columns, rows) };
  });
}

/**
 * Runs drawn on one axis should have been estimated alike: the report warns when the runs it
 * compares differ in their seed or in a Monte Carlo setting (`spec.montecarlo`), naming each.
 */
import { canonicalJson } from '../spec/canonical';
import type { PlotRun } from '../plot/rows';

/** One setting that differs between runs: its name and each run's value (as JSON). */
export interface SettingDifference {
  /** `seed` or `montecarlo.<field>`. */
  readonly setting: string;
  readonly values: readonly { readonly run: string; readonly value: string }[];
}

function shown(value: unknown): string {
  return value === undefined ? '(not set)' : canonicalJson(value);
}

/** The seed and every Monte Carlo field whose values differ between the runs (none for one run). */
export function settingDifferences(runs: readonly PlotRun[]): SettingDifference[] {
  if (runs.length < 2) return [];
  const out: SettingDifference[] = [];
  const add = (setting: string, value: (run: PlotRun) => unknown) => {
    const values = runs.map((run) => ({ run: run.label, value: shown(value(run)) }));
    if (new Set(values.map((v) => v.value)).size > 1) out.push({ setting, values });
  };
  add('seed', (run) => run.data.spec?.seed ?? run.data.seed);
  const montecarlo = (run: PlotRun) => (run.data.spec?.montecarlo ?? {}) as Record<string, unknown>;
  const fields = [...new Set(runs.flatMap((run) => Object.keys(montecarlo(run))))];
  for (const field of fields) add(`montecarlo.${field}`, (run) => montecarlo(run)[field]);
  return out;
}

/** `seed (a: 1, b: 2); montecarlo.maxTrials (a: 100, b: 60)`. */
export function differenceText(differences: readonly SettingDifference[]): string {
  return differences.map((d) => `${d.setting} (${d.values.map((v) => `${v.run}: ${v.value}`).join(', ')})`).join('; ');
}

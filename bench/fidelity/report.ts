/** The fidelity table (markdown) and chart (SVG) from the harness's results. */
import { lineChartSvg, type Series } from '../../cli/svg-chart.js';

export interface FidelityBudget {
  dataset: string;
  limitTrain: number;
  limitTest: number;
  epochs: number;
  batchSize: number;
  lr: number;
  schedule: string;
  augment: string;
  inputSize: number;
  channels: number;
}

export interface FidelityRun {
  row: string;
  modules: number;
  context: string;
  seed: number;
  /** contsup's backend for this run (a resumed table may mix them); the table's `backend` when absent. */
  backend?: string;
  /** Test error (%) after each epoch. */
  contsup: number[];
  release: number[];
  contsupSeconds: number;
  releaseSeconds: number;
}

export interface FidelityResults {
  budget: FidelityBudget;
  backend: string;
  runs: FidelityRun[];
}

export function rowOrder(row: string): number {
  if (row === 'E2E') return 0;
  const m = /^K(\d+)-(.+)$/.exec(row);
  if (!m) return 999;
  return Number(m[1]) * 10 + ['R0', 'E', 'R1', 'R1E'].indexOf(m[2]);
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** Sample standard deviation; 0 for a single value. */
function sd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

const last = (xs: number[]): number => xs[xs.length - 1]!;

export interface RowSummary {
  row: string;
  seeds: number[];
  contsup: { mean: number; sd: number };
  release: { mean: number; sd: number };
  /** Mean over seeds of (contsup - release), and its spread. */
  diff: { mean: number; sd: number };
}

export function summarise(res: FidelityResults): RowSummary[] {
  const rows = [...new Set(res.runs.map((r) => r.row))].sort((a, b) => rowOrder(a) - rowOrder(b));
  return rows.map((row) => {
    const runs = res.runs.filter((r) => r.row === row);
    const c = runs.map((r) => last(r.contsup));
    const rel = runs.map((r) => last(r.release));
    const d = runs.map((r) => last(r.contsup) - last(r.release));
    return {
      row,
      seeds: runs.map((r) => r.seed),
      contsup: { mean: mean(c), sd: sd(c) },
      release: { mean: mean(rel), sd: sd(rel) },
      diff: { mean: mean(d), sd: sd(d) },
    };
  });
}

export function budgetLine(b: FidelityBudget): string {
  return `${b.dataset}, first ${b.limitTrain} training and ${b.limitTest} test images as ${b.inputSize}x${b.inputSize}x${b.channels}, ` +
    `${b.epochs} epoch(s), batch ${b.batchSize}, lr ${b.lr} (${b.schedule}), augment ${b.augment}`;
}

const pm = (x: { mean: number; sd: number }): string => `${x.mean.toFixed(2)} ± ${x.sd.toFixed(2)}`;

/** The backends contsup ran on, with the runs of each when a resumed table mixes them. */
function backendsOf(res: FidelityResults): string {
  const by = new Map<string, string[]>();
  for (const r of res.runs) {
    const b = r.backend ?? res.backend;
    by.set(b, [...(by.get(b) ?? []), `${r.row} s${r.seed}`]);
  }
  if (by.size <= 1) return [...by.keys()][0] ?? res.backend;
  return [...by.entries()].map(([b, runs]) => `${b} (${runs.join(', ')})`).join('; ');
}

export function markdownReport(res: FidelityResults): string {
  const lines = [
    `Budget: ${budgetLine(res.budget)}. contsup backend: ${backendsOf(res)}; the release on CPU (torch).`,
    '',
    '| row | seeds | contsup error % | release error % | contsup - release | within 1.5 |',
    '|---|---|---|---|---|---|',
  ];
  for (const s of summarise(res)) {
    lines.push(`| ${s.row} | ${s.seeds.join(', ')} | ${pm(s.contsup)} | ${pm(s.release)} | ${s.diff.mean >= 0 ? '+' : ''}${pm(s.diff)} | ${Math.abs(s.diff.mean) <= 1.5 ? 'yes' : 'no'} |`);
  }
  lines.push('', 'Per-epoch test error (contsup / release):', '');
  for (const r of [...res.runs].sort((a, b) => rowOrder(a.row) - rowOrder(b.row) || a.seed - b.seed)) {
    lines.push(`- ${r.row} seed ${r.seed}: ${r.contsup.map((c, i) => `${c.toFixed(2)} / ${r.release[i]?.toFixed(2) ?? '-'}`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function chartSvg(res: FidelityResults): string {
  const sums = summarise(res);
  const series: Series[] = [];
  for (const side of ['contsup', 'release'] as const) {
    const e2e = sums.find((s) => s.row === 'E2E');
    for (const ctx of ['R0', 'E', 'R1', 'R1E']) {
      const points = sums
        .filter((s) => s.row.endsWith(`-${ctx}`))
        .map((s) => [Number(/^K(\d+)/.exec(s.row)![1]), s[side].mean] as [number, number]);
      if (points.length === 0) continue;
      if (e2e) points.unshift([1, e2e[side].mean]);
      series.push({ name: `${side} ${ctx}`, points });
    }
    if (e2e && series.every((s) => !s.name.startsWith(side))) series.push({ name: `${side} E2E`, points: [[1, e2e[side].mean]] });
  }
  return lineChartSvg({
    title: `Fidelity: ${res.budget.limitTrain} images, ${res.budget.epochs} epoch(s)`,
    xLabel: 'modules K (1 = E2E)',
    yLabel: 'test error (%), mean over seeds',
    xTicks: [1, 2, 4, 8, 16],
    series,
  });
}

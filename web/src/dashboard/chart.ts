import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from '../common/dom.js';

export interface SeriesDef {
  label: string;
  color: string;
  /** Draw points (few values, e.g. per epoch); default lines only. */
  points?: boolean;
  dash?: number[];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Fixed y range, e.g. [0, 100] for percentages. */
  yRange?: [number, number];
  /** Integer ticks on x (epochs, module depth). */
  integerX?: boolean;
  height?: number;
  empty?: string;
}

/** Distinct colours for up to 64 modules: golden-angle hues. */
export function seriesColor(i: number): string {
  return `hsl(${Math.round((i * 137.508 + 210) % 360)}, 65%, 45%)`;
}

/**
 * One uPlot line chart in `container`: recreated when the set of series
 * changes, otherwise updated in place with setData (cheap), resized with
 * its container. The container's data-series / data-points attributes say
 * what is drawn (for tests and for people reading the DOM).
 */
export class LineChart {
  private plot: uPlot | null = null;
  private key = '';
  private readonly body: HTMLElement;
  private readonly observer: ResizeObserver;

  constructor(
    private readonly container: HTMLElement,
    private readonly opts: ChartOptions,
  ) {
    container.classList.add('chart');
    this.body = h('div');
    container.replaceChildren(h('h3', {}, opts.title), this.body);
    this.observer = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: this.opts.height ?? 220 }));
    this.observer.observe(container);
    this.showEmpty();
  }

  update(series: SeriesDef[], data: uPlot.AlignedData): void {
    const points = data.slice(1).reduce((n, col) => n + (col as Array<number | null>).filter((v) => v !== null && v !== undefined).length, 0);
    this.container.dataset['series'] = String(series.length);
    this.container.dataset['points'] = String(points);
    if (series.length === 0 || data[0].length === 0) {
      this.showEmpty();
      return;
    }
    const key = JSON.stringify(series);
    if (!this.plot || key !== this.key) {
      this.plot?.destroy();
      this.body.replaceChildren();
      this.key = key;
      this.plot = new uPlot(this.options(series), data, this.body);
    } else {
      this.plot.setData(data);
    }
  }

  private showEmpty(): void {
    this.plot?.destroy();
    this.plot = null;
    this.key = '';
    this.body.replaceChildren(h('div', { class: 'empty' }, this.opts.empty ?? 'no data yet'));
  }

  private width(): number {
    return Math.max(240, this.container.clientWidth - 4);
  }

  private options(series: SeriesDef[]): uPlot.Options {
    const o = this.opts;
    const intTicks = (_u: uPlot, splits: number[]): string[] => splits.map((v) => (Number.isInteger(v) ? String(v) : ''));
    return {
      width: this.width(),
      height: o.height ?? 220,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      scales: {
        x: { time: false },
        y: o.yRange ? { range: o.yRange } : { auto: true },
      },
      axes: [
        { label: o.xLabel, ...(o.integerX ? { values: intTicks } : {}) },
        { label: o.yLabel, size: 56 },
      ],
      series: [
        { label: o.xLabel },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          spanGaps: true,
          ...(s.dash ? { dash: s.dash } : {}),
          points: { show: s.points === true, size: 6 },
        })),
      ],
    };
  }
}

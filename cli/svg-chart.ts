/** A dependency-free SVG line chart: enough for benchmark reports. */
export interface Series {
  name: string;
  points: Array<[number, number]>;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** x values are drawn on a log2 axis at the given ticks (e.g. K = 1, 2, 4, 8, 16). */
export function lineChartSvg(opts: { title: string; xLabel: string; yLabel: string; xTicks: number[]; series: Series[] }): string {
  const W = 640, H = 400, L = 60, R = 130, T = 40, B = 50;
  const ys = opts.series.flatMap((s) => s.points.map((p) => p[1]));
  const yMin = Math.floor(Math.min(...ys) / 5) * 5;
  const yMax = Math.ceil(Math.max(...ys) / 5) * 5 || 5;
  const lx = (x: number): number => Math.log2(x);
  const x0 = lx(Math.min(...opts.xTicks));
  const x1 = lx(Math.max(...opts.xTicks));
  const px = (x: number): number => L + ((lx(x) - x0) / Math.max(1e-9, x1 - x0)) * (W - L - R);
  const py = (y: number): number => T + (1 - (y - yMin) / Math.max(1e-9, yMax - yMin)) * (H - T - B);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`);
  const yStep = Math.max(1, Math.round((yMax - yMin) / 8));
  for (let y = yMin; y <= yMax; y += yStep) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${py(y) + 4}" text-anchor="end">${y}</text>`);
  }
  for (const x of opts.xTicks) {
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${px(x)}" y="${H - B + 16}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  opts.series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length];
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${c}"/>`);
    out.push(`<rect x="${W - R + 12}" y="${T + i * 20}" width="14" height="3" fill="${c}"/>`);
    out.push(`<text x="${W - R + 32}" y="${T + i * 20 + 5}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

import { parseContext, type ContextMode } from '../../../protocol/names.js';
import { h, s } from '../common/dom.js';
import { seriesColor } from './chart.js';

export interface PlanStage {
  stage: number;
  deviceName: string;
  firstModule: number;
  lastModule: number;
  lost?: boolean;
}

/** A job's context was checked when it was created; an unknown one is drawn as R0 rather than failing the page. */
function contextOf(mode: string): ContextMode {
  try {
    return parseContext(mode);
  } catch {
    return { image: false, recent: 0 };
  }
}

const BOX_H = 30;
const LEFT = 70;
/** Room the picture may take; boxes shrink to fit many modules (down to 30 px). */
const TARGET_WIDTH = 1100;
/** Approximate width of one label character at 11 px. */
const CHAR_W = 6.2;

/**
 * The plan as a picture: the image, then K module boxes (coloured by the
 * stage/device that holds them, device names above), forward flow between
 * them, and the context paths: E arcs (orange, below) from the image to
 * every cut, R arcs (blue, above) from an earlier module's input to the
 * module that also reads it.
 */
export function planSvg(modules: number, context: string, stages: PlanStage[]): HTMLElement {
  const ctx = contextOf(context);
  const pitch = Math.max(30, Math.min(130, (TARGET_WIDTH - LEFT) / Math.max(1, modules)));
  const BOX_W = Math.round(pitch * 0.72);
  const GAP = pitch - BOX_W;
  const width = Math.round(LEFT + modules * pitch + 10);
  const rArcs = Math.min(ctx.recent, Math.max(0, modules - 1));
  const top = 34 + rArcs * 12 + 14;
  const mid = top + BOX_H / 2;
  const height = top + BOX_H + 24 + (ctx.image ? 40 : 0);
  const x0 = (k: number): number => LEFT + k * (BOX_W + GAP);
  const stageOf = (k: number): PlanStage | undefined => stages.find((st) => k >= st.firstModule && k <= st.lastModule);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `plan: ${modules} modules on ${stages.length} stage(s), context ${context}` });

  // The image and the forward flow.
  svg.append(s('rect', { x: 6, y: top, width: 44, height: BOX_H, rx: 4, fill: '#eef0f3', class: 'module' }), s('text', { x: 28, y: mid + 4, 'text-anchor': 'middle' }, 'image'));
  svg.append(s('line', { x1: 50, y1: mid, x2: x0(0), y2: mid, class: 'flow' }));
  for (let k = 0; k + 1 < modules; k++) svg.append(s('line', { x1: x0(k) + BOX_W, y1: mid, x2: x0(k + 1), y2: mid, class: 'flow' }));

  // Device brackets above each stage's modules.
  for (const st of stages) {
    const a = x0(st.firstModule);
    const b = x0(st.lastModule) + BOX_W;
    const color = seriesColor(st.stage);
    // The label fits its bracket (plus the gap): long names are cut, very narrow stages show only s<i>.
    const room = Math.max(1, Math.floor((b - a + GAP) / CHAR_W));
    let label = `${st.lost ? '⚠ ' : ''}s${st.stage}: ${st.deviceName}`;
    if (label.length > room) label = room >= 8 ? `${label.slice(0, room - 1)}…` : `s${st.stage}`;
    svg.append(
      s('path', { d: `M${a} 26 V20 H${b} V26`, fill: 'none', stroke: color, 'stroke-width': 1.5 }),
      s('text', { x: (a + b) / 2, y: 14, 'text-anchor': 'middle', fill: color }, s('title', {}, `stage ${st.stage}: ${st.deviceName}, modules ${st.firstModule}..${st.lastModule}`), label),
    );
  }

  // R arcs: module k also reads c_{k-j} (the input of module k-j), j = 1..n.
  for (let k = 1; k < modules; k++) {
    for (let j = 1; j <= Math.min(ctx.recent, k); j++) {
      const from = x0(k - j) + 6;
      const to = x0(k) + 6;
      const lift = 10 + j * 12;
      svg.append(s('path', { d: `M${from} ${top} C${from} ${top - lift}, ${to} ${top - lift}, ${to} ${top}`, class: 'arc-r' }));
    }
  }

  // E arcs: the image reaches every cut (modules 1..K-1) through its own encoder.
  if (ctx.image) {
    for (let k = 1; k < modules; k++) {
      const to = x0(k) + 8;
      const drop = 14 + Math.min(26, k * 4);
      svg.append(s('path', { d: `M28 ${top + BOX_H} C28 ${top + BOX_H + drop}, ${to} ${top + BOX_H + drop}, ${to} ${top + BOX_H}`, class: 'arc-e' }));
    }
  }

  // Module boxes last, so arcs end under them.
  for (let k = 0; k < modules; k++) {
    const st = stageOf(k);
    const fill = st ? seriesColor(st.stage).replace('45%)', '88%)') : '#f3f4f6';
    svg.append(
      s('rect', { x: x0(k), y: top, width: BOX_W, height: BOX_H, rx: 4, fill, class: 'module', 'data-module': k, 'data-stage': st?.stage ?? '' }),
      s('text', { x: x0(k) + BOX_W / 2, y: mid + 4, 'text-anchor': 'middle' }, `m${k}`),
    );
  }

  const legend = h(
    'div',
    { class: 'legend' },
    h('span', {}, h('i', { style: 'background:#445' }), 'forward (h)'),
    ctx.recent > 0 ? h('span', {}, h('i', { style: 'background:var(--accent)' }), `R${ctx.recent}: earlier module inputs`) : null,
    ctx.image ? h('span', {}, h('i', { style: 'background:var(--warn)' }), 'E: image to every cut') : null,
    !ctx.image && ctx.recent === 0 ? h('span', {}, 'R0: no context') : null,
  );
  const wrap = h('div', { class: 'plan', 'data-modules': modules, 'data-context': context, 'data-stages': stages.length });
  wrap.append(svg, legend);
  return wrap;
}

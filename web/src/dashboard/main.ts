import '../common/style.css';
import { io, type Socket } from 'socket.io-client';
import { DASHBOARD_EVENTS, type DashEpoch, type DashMetrics, type DashState } from '../../../protocol/dashboard-messages.js';
import { parser } from '../../../protocol/parser.js';
import { byId, fill, h, syncRows } from '../common/dom.js';
import { bytes, duration, ms, num, rate } from '../common/format.js';
import { api } from './api.js';
import { LineChart, seriesColor, type SeriesDef } from './chart.js';
import { setupControls, stopButton, type ControlsHooks } from './controls.js';
import { planSvg, type PlanStage } from './plan.js';
import { alignSeries } from './series.js';
import { DashboardStore, etaSeconds, informationCurve, type JobView } from './store.js';
import { renderTryModel, setupTryModel } from './try-model.js';

/**
 * The live dashboard (`/`): a Socket.IO client in the `dashboard` room (same
 * msgpack parser as devices) plus the REST API for history and job
 * controls. Renders at most ~3 times a second however fast metrics arrive.
 */

const RENDER_MS = 300;
const JOB_LIST_REFRESH_MS = 15_000;
const FINISHED = new Set(['done', 'failed', 'stopped']);

const store = new DashboardStore();
let selected: string | null = null;
/** The user picked a job: stop following the newest one. */
let pinned = false;
let compareA = '';
let compareB = '';
/** The user chose a comparison: stop picking one. */
let compareTouched = false;

const charts = {
  loss: new LineChart(byId('chart-loss'), { title: 'Local loss per module', xLabel: 'step', yLabel: 'loss', integerX: true }),
  accuracy: new LineChart(byId('chart-accuracy'), { title: 'Local head accuracy per module (train)', xLabel: 'step', yLabel: '%', yRange: [0, 100], integerX: true }),
  test: new LineChart(byId('chart-test'), { title: 'Network test error per epoch', xLabel: 'epoch', yLabel: '%', yRange: [0, 100], integerX: true, empty: 'no epoch evaluated yet' }),
  info: new LineChart(byId('chart-info'), { title: 'Information curve: test accuracy by depth', xLabel: 'module', yLabel: '%', yRange: [0, 100], integerX: true, empty: 'no epoch evaluated yet' }),
  compare: new LineChart(byId('chart-compare'), { title: 'Test accuracy by depth (last epoch of each job)', xLabel: 'module', yLabel: '%', yRange: [0, 100], integerX: true, empty: 'pick two jobs with an evaluated epoch' }),
};

const hooks: ControlsHooks = {
  created: (id) => {
    selected = id;
    pinned = true;
    void loadJob(id);
  },
  changed: () => void refreshJobList(),
};
const controls = setupControls(hooks);
setupTryModel();

// ---- data ----

async function refreshJobList(): Promise<void> {
  const res = await api.jobs();
  if (res.ok && res.body) {
    store.setSummaries(res.body);
    schedule();
  }
}

/** The job's stored detail (plan, epochs) and curves, once per job (detail again when it is finished). */
async function loadJob(id: string): Promise<void> {
  if (store.wantHistory(id)) {
    void api.steps(id).then((res) => {
      if (res.ok) store.setHistory(res.body);
      else store.historyFailed(id);
      schedule();
    });
  }
  const res = await api.job(id);
  if (res.ok && res.body) {
    store.setDetail(res.body);
    schedule();
  }
}

function connect(): Socket {
  // Same transport rules as devices: websocket only, the project's msgpack parser.
  const socket = io(location.origin, { transports: ['websocket'], parser, reconnectionDelayMax: 5000 });
  const on = socket.on.bind(socket) as (ev: string, fn: (msg: never) => void) => void;
  const conn = byId('conn');
  socket.on('connect', () => {
    conn.className = 'pill pill-online';
    conn.textContent = 'live';
    conn.dataset['state'] = 'live';
    (socket.emit as (ev: string, msg: unknown) => void)(DASHBOARD_EVENTS.subscribe, {});
    void refreshJobList();
  });
  socket.on('disconnect', () => {
    conn.className = 'pill pill-offline';
    conn.textContent = 'offline, reconnecting';
    conn.dataset['state'] = 'offline';
  });
  on(DASHBOARD_EVENTS.state, (s: DashState) => {
    for (const id of store.onState(s)) void loadJob(id);
    schedule();
  });
  on(DASHBOARD_EVENTS.metrics, (m: DashMetrics) => {
    store.onMetrics(m);
    schedule();
  });
  on(DASHBOARD_EVENTS.epoch, (e: DashEpoch) => {
    store.onEpoch(e);
    schedule();
  });
  return socket;
}

// ---- rendering ----

let renderTimer: ReturnType<typeof setTimeout> | null = null;
function schedule(): void {
  if (renderTimer === null) renderTimer = setTimeout(render, RENDER_MS);
}

function render(): void {
  renderTimer = null;
  const jobs = store.jobs();
  if (!pinned || (selected !== null && !jobs.some((j) => j.id === selected))) {
    // Follow the newest live job, else the newest job.
    const next = jobs.find((j) => !FINISHED.has(j.status)) ?? jobs[0];
    if (next && next.id !== selected) {
      selected = next.id;
      void loadJob(next.id);
    }
  }
  renderDevices();
  renderJobs(jobs);
  renderJob(store.job(selected));
  renderCompare(jobs);
  controls.refresh();
}

function renderDevices(): void {
  const body = byId('devices');
  const list = [...store.devices].sort((a, b) => (a.status === 'lost' ? 1 : 0) - (b.status === 'lost' ? 1 : 0) || a.name.localeCompare(b.name));
  byId('device-count').textContent = `${list.filter((d) => d.status !== 'lost').length} connected`;
  syncRows(
    body,
    list.map((d) =>
      h(
        'tr',
        { 'data-key': d.id, 'data-device': d.id, 'data-name': d.name, 'data-kind': d.kind, 'data-backend': d.backend, 'data-status': d.status },
        h('td', { title: d.id }, d.name),
        h('td', {}, d.kind),
        h('td', {}, d.backend),
        h('td', { class: 'num' }, `${num(d.speedGflops, 1)} GFLOP/s`),
        h('td', { class: 'num' }, bytes(d.memoryBytes)),
        h('td', { class: 'num' }, d.rttMs === null ? '–' : `${num(d.rttMs, 1)} ms`),
        h('td', { class: 'num' }, rate(d.bandwidthBytesPerSec)),
        h('td', {}, h('span', { class: `pill pill-${d.status}` }, d.status)),
        h('td', {}, d.jobId === null ? '' : `${d.jobId} s${d.stage ?? '?'}`),
      ),
    ),
  );
  if (list.length === 0) syncRows(body, [h('tr', { 'data-key': 'none' }, h('td', { colspan: 9, class: 'muted' }, 'no device yet: run `contsup device --url … --token …` or open /device in a browser'))]);
}

function progressOf(j: JobView): { done: number; total: number; epoch: number; epochs: number } {
  const live = j.live;
  if (live) return { done: live.stepsDone, total: live.totalSteps, epoch: live.epoch, epochs: live.epochs };
  const p = j.summary?.progress;
  return { done: p?.stepsDone ?? 0, total: p?.totalSteps ?? 0, epoch: p?.epoch ?? 0, epochs: j.summary?.spec.epochs ?? 0 };
}

function lastTestError(id: string): number | null {
  const list = store.epochs.get(id) ?? [];
  return list.length > 0 ? list[list.length - 1]!.testError : null;
}

function renderJobs(jobs: JobView[]): void {
  const body = byId('jobs');
  const now = Date.now();
  syncRows(
    body,
    jobs.slice(0, 50).map((j) => {
      const p = progressOf(j);
      const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
      const err = lastTestError(j.id);
      const row = h(
        'tr',
        { class: `clickable${j.id === selected ? ' selected' : ''}`, 'data-key': j.id, 'data-job': j.id, 'data-status': j.status },
        h('td', {}, j.id),
        h('td', {}, h('span', { class: `pill pill-${j.status}`, title: j.live?.error ?? j.summary?.error ?? j.live?.waitingFor ?? '' }, j.status)),
        h('td', {}, `${j.model} K=${j.modules} ${j.context}`),
        h('td', {}, j.dataset),
        h('td', {}, h('span', { class: 'bar' }, h('span', { style: `width:${(frac * 100).toFixed(1)}%` })), ` ${p.done}/${p.total} · ep ${p.epoch}/${p.epochs}`),
        h('td', { class: 'num', 'data-eta': String(etaSeconds(j, now) ?? '') }, duration(etaSeconds(j, now))),
        h('td', { class: 'num' }, err === null ? '–' : `${num(err, 1)}%`),
        h('td', {}, FINISHED.has(j.status) ? null : stopButton(j.id, hooks)),
      );
      // Kept by syncRows while the job is listed: the listener stays valid.
      row.addEventListener('click', () => {
        selected = j.id;
        pinned = true;
        void loadJob(j.id);
        render();
      });
      return row;
    }),
  );
  if (jobs.length === 0) syncRows(body, [h('tr', { 'data-key': 'none' }, h('td', { colspan: 8, class: 'muted' }, 'no job yet'))]);
}

function renderJob(job: JobView | null): void {
  const title = byId('job-title');
  const summary = byId('job-summary');
  const planEl = byId('plan');
  const stagesEl = byId('stages');
  if (!job) {
    fill(title, 'No job selected');
    fill(summary);
    fill(planEl);
    planEl.dataset['key'] = '';
    fill(stagesEl);
    renderCurves(null);
    renderTryModel(null, null);
    return;
  }
  renderTryModel(job.id, job.status);
  const live = job.live;
  const spec = job.summary?.spec;
  fill(title, `Job ${job.id} `, h('span', { class: `pill pill-${job.status}` }, job.status));
  const p = progressOf(job);
  const eta = etaSeconds(job, Date.now());
  const why = live?.error ?? job.summary?.error ?? live?.waitingFor ?? job.summary?.waitingFor ?? null;
  fill(
    summary,
    `${job.model}, K = ${job.modules}, context ${job.context}, ${job.dataset}`,
    spec ? `, batch ${spec.batchSize}, lr ${spec.lr}, wire ${spec.wire}, head ${spec.head}` : '',
    ` · epoch ${p.epoch}/${p.epochs}${live?.phase ? ` (${live.phase})` : ''} · step ${p.done}/${p.total}`,
    eta === null ? '' : ` · ETA ${duration(eta)}`,
    why ? ` · ${why}` : '',
    live && live.cuts.length > 0 ? ` · cuts ${live.cuts.map((c) => `s${c.fromStage}→s${c.toStage} ${c.mode} ${bytes(c.bytes)}`).join(', ')} · relayed ${bytes(live.relayedTensorBytes)}` : '',
  );
  summary.title = live?.cuts.filter((c) => c.reason !== null).map((c) => `s${c.fromStage}→s${c.toStage}: ${c.reason}`).join('\n') ?? '';
  summary.dataset['job'] = job.id;

  const liveStages = live?.stages ?? [];
  const planStages: PlanStage[] =
    liveStages.length > 0 ? liveStages.map((s) => ({ stage: s.stage, deviceName: s.deviceName, firstModule: s.firstModule, lastModule: s.lastModule, lost: s.lost })) : (store.details.get(job.id)?.plan ?? []);
  // Redrawn only when the plan changes (its tooltips would flicker otherwise).
  const planKey = JSON.stringify([job.id, job.modules, job.context, planStages]);
  if (planEl.dataset['key'] !== planKey) {
    planEl.dataset['key'] = planKey;
    fill(planEl, job.modules > 0 ? planSvg(job.modules, job.context, planStages) : null);
  }

  if (liveStages.length > 0) {
    syncRows(
      stagesEl,
      liveStages.map((s) => {
        const r = store.rates.get(`${job.id}/${s.stage}`);
        return h(
          'tr',
          { 'data-key': `${job.id}/${s.stage}`, 'data-stage': s.stage, 'data-device': s.deviceName, 'data-samples': s.samples },
          h('td', {}, h('span', { style: `color:${seriesColor(s.stage)}` }, '■ '), `s${s.stage}`),
          h('td', { title: s.deviceId }, s.deviceName),
          h('td', {}, `${s.firstModule}..${s.lastModule}`),
          h('td', { class: 'num' }, String(s.samples)),
          h('td', { class: 'num', title: 'reported by the device' }, num(s.samplesPerSec, 1)),
          h('td', { class: 'num' }, rate(r?.inPerSec)),
          h('td', { class: 'num' }, rate(r?.outPerSec)),
          h('td', { class: 'num', title: 'in flight / credits (+ queued in front)' }, `${s.inFlight}/${store.credits}${s.queued > 0 ? ` +${s.queued}` : ''}`),
          h('td', { class: 'num' }, ms(s.estimatedMsPerBatch)),
          h('td', { class: 'num' }, ms(s.measuredMsPerBatch)),
          h('td', {}, s.lost ? h('span', { class: 'pill pill-lost' }, 'lost') : s.ready ? 'ready' : 'building'),
        );
      }),
    );
  } else {
    const plan = store.details.get(job.id)?.plan ?? [];
    syncRows(
      stagesEl,
      plan.map((s) =>
        h(
          'tr',
          { 'data-key': `${job.id}/${s.stage}`, 'data-stage': s.stage },
          h('td', {}, `s${s.stage}`),
          h('td', {}, s.deviceName),
          h('td', {}, `${s.firstModule}..${s.lastModule}`),
          h('td', { class: 'num' }, '–'),
          h('td', { class: 'num' }, '–'),
          h('td', { class: 'num' }, '–'),
          h('td', { class: 'num' }, '–'),
          h('td', { class: 'num' }, '–'),
          h('td', { class: 'num' }, ms(s.estimatedMsPerBatch)),
          h('td', { class: 'num' }, ms(s.measuredMsPerBatch)),
          h('td', {}, FINISHED.has(job.status) ? job.status : ''),
        ),
      ),
    );
  }
  renderCurves(job);
}

function renderCurves(job: JobView | null): void {
  byId('curves-job').textContent = job ? job.id : '';
  if (!job) {
    for (const c of Object.values(charts)) if (c !== charts.compare) c.update([], [[]]);
    return;
  }
  const modules = [...store.modulesOf(job.id).entries()].sort((a, b) => a[0] - b[0]);
  const defs: SeriesDef[] = modules.map(([m]) => ({ label: `m${m}`, color: seriesColor(m) }));
  charts.loss.update(defs, alignSeries(modules.map(([, c]) => c.loss.data())));
  charts.accuracy.update(defs, alignSeries(modules.map(([, c]) => c.accuracy.data())));

  const epochs = store.epochs.get(job.id) ?? [];
  charts.test.update([{ label: 'test error', color: '#c0392b', points: true }], [epochs.map((e) => e.epoch), epochs.map((e) => e.testError)]);

  // One line per evaluated epoch (the last few), depth on x.
  const shown = epochs.slice(-5);
  const depth = Array.from({ length: job.modules }, (_, k) => k + 1);
  charts.info.update(
    shown.map((e, i) => ({ label: `epoch ${e.epoch}`, color: i === shown.length - 1 ? '#2d6cdf' : `hsl(215, 30%, ${75 - i * 8}%)`, points: true })),
    [depth, ...shown.map((e) => informationCurve(e, job.modules))],
  );
}

function renderCompare(jobs: JobView[]): void {
  const a = byId<HTMLSelectElement>('compare-a');
  const b = byId<HTMLSelectElement>('compare-b');
  const withEpochs = jobs.filter((j) => (store.epochs.get(j.id)?.length ?? 0) > 0 || (j.summary?.epochsDone ?? 0) > 0);
  if (!compareTouched) {
    // Until someone picks: the followed job (or the newest evaluated one) against the newest other one.
    compareA = withEpochs.find((j) => j.id === selected)?.id ?? withEpochs[0]?.id ?? '';
    compareB = withEpochs.find((j) => j.id !== compareA)?.id ?? '';
  }
  for (const [sel, value] of [
    [a, compareA],
    [b, compareB],
  ] as const) {
    const ids = withEpochs.map((j) => j.id);
    if (sel.dataset['ids'] !== ids.join(',')) {
      fill(sel, h('option', { value: '' }, '—'), ...withEpochs.map((j) => h('option', { value: j.id }, `${j.id} (${j.model} K=${j.modules} ${j.context})`)));
      sel.dataset['ids'] = ids.join(',');
    }
    sel.value = value;
  }
  const picked = [compareA, compareB].filter((id) => id !== '').map((id) => store.job(id)).filter((j): j is JobView => j !== null);
  for (const j of picked) if (!store.details.has(j.id)) void loadJob(j.id);
  const depthMax = Math.max(0, ...picked.map((j) => j.modules));
  const depth = Array.from({ length: depthMax }, (_, k) => k + 1);
  const defs: SeriesDef[] = [];
  const cols: Array<Array<number | null>> = [];
  picked.forEach((j, i) => {
    const list = store.epochs.get(j.id) ?? [];
    const last = list[list.length - 1];
    if (!last) return;
    const curve = informationCurve(last, j.modules);
    defs.push({ label: `${i === 0 ? 'A' : 'B'}: ${j.model} K=${j.modules} ${j.context} (ep ${last.epoch})`, color: i === 0 ? '#2d6cdf' : '#b36b00', points: true, dash: i === 0 ? undefined : [6, 4] });
    cols.push(depth.map((_, k) => curve[k] ?? null));
  });
  charts.compare.update(defs, [depth, ...cols]);
}

byId<HTMLSelectElement>('compare-a').addEventListener('change', (ev) => {
  compareA = (ev.target as HTMLSelectElement).value;
  compareTouched = true;
  render();
});
byId<HTMLSelectElement>('compare-b').addEventListener('change', (ev) => {
  compareB = (ev.target as HTMLSelectElement).value;
  compareTouched = true;
  render();
});

connect();
void refreshJobList();
setInterval(() => void refreshJobList(), JOB_LIST_REFRESH_MS);
// ETAs move with the clock even when nothing arrives.
setInterval(schedule, 1000);
render();

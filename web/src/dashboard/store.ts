import type { DashDevice, DashEpoch, DashJob, DashMetrics, DashState } from '../../../protocol/dashboard-messages.js';
import type { EpochResult, JobDetail, JobSummary, StepHistory } from '../../../protocol/rest-messages.js';
import { SeriesBuffer } from './series.js';

/** Points kept per module curve (loss, accuracy); older ones are averaged together. */
export const CURVE_POINTS = 1500;
/** Live metrics of a job whose stored history is still loading wait here (bounded). */
const PENDING_MAX = 20_000;

export interface ModuleCurves {
  loss: SeriesBuffer;
  accuracy: SeriesBuffer;
}

interface JobCurves {
  modules: Map<number, ModuleCurves>;
  /** null: history not asked for yet; 'loading'; 'loaded'. */
  history: null | 'loading' | 'loaded';
  /** Live points that arrived while the history loaded: appended after it. */
  pending: DashMetrics[];
  /** Highest step already in the curves, so a replayed history never goes backwards. */
  lastStep: number;
}

export interface StageRates {
  at: number;
  bytesIn: number;
  bytesOut: number;
  samples: number;
  /** Smoothed bytes/s in and out, samples/s as the coordinator counted them. */
  inPerSec: number | null;
  outPerSec: number | null;
  samplesPerSec: number | null;
}

/** A job as the dashboard shows it: the REST summary, overlaid with the live state when there is one. */
export interface JobView {
  id: string;
  status: string;
  summary: JobSummary | null;
  live: DashJob | null;
  modules: number;
  context: string;
  model: string;
  dataset: string;
  createdAt: number;
}

const RATE_EMA = 0.5;

function newCurves(): ModuleCurves {
  return { loss: new SeriesBuffer(CURVE_POINTS), accuracy: new SeriesBuffer(CURVE_POINTS) };
}

/**
 * Everything the dashboard knows: devices and live jobs (dash:state), the
 * REST job list (older jobs too), per-module curves (stored history, then
 * dash:metrics), per-epoch evaluations (REST detail, then dash:epoch) and
 * per-stage transfer rates derived from successive states.
 */
export class DashboardStore {
  devices: DashDevice[] = [];
  credits = 2;
  stateAt = 0;
  readonly live = new Map<string, DashJob>();
  readonly summaries = new Map<string, JobSummary>();
  readonly details = new Map<string, JobDetail>();
  readonly epochs = new Map<string, EpochResult[]>();
  private readonly curves = new Map<string, JobCurves>();
  readonly rates = new Map<string, StageRates>();

  /** Jobs (live or listed) whose history the dashboard should fetch: new live jobs. */
  onState(s: DashState): string[] {
    this.devices = s.devices;
    this.credits = s.credits ?? this.credits;
    this.stateAt = s.at;
    const unseen: string[] = [];
    for (const j of s.jobs) {
      if (!this.live.has(j.id) && !this.summaries.has(j.id)) unseen.push(j.id);
      this.live.set(j.id, j);
      for (const st of j.stages ?? []) this.updateRates(j.id, st.stage, s.at, st.bytesIn, st.bytesOut, st.samples);
    }
    return unseen;
  }

  onMetrics(m: DashMetrics): void {
    const c = this.jobCurves(m.jobId);
    if (c.history !== 'loaded') {
      if (c.pending.length < PENDING_MAX) c.pending.push(m);
      return;
    }
    this.addMetrics(c, m);
  }

  onEpoch(e: DashEpoch): void {
    const list = this.epochs.get(e.jobId) ?? [];
    const rest = list.filter((x) => x.epoch !== e.epoch);
    rest.push({ epoch: e.epoch, testError: e.testError, moduleErrors: e.moduleErrors });
    rest.sort((a, b) => a.epoch - b.epoch);
    this.epochs.set(e.jobId, rest);
  }

  setSummaries(list: JobSummary[]): void {
    for (const j of list) this.summaries.set(j.id, j);
  }

  setDetail(d: JobDetail): void {
    this.details.set(d.id, d);
    this.summaries.set(d.id, d);
    // Live epochs that arrived meanwhile are kept; the stored ones fill in the rest.
    const merged = new Map<number, EpochResult>(d.epochs.map((e) => [e.epoch, e]));
    for (const e of this.epochs.get(d.id) ?? []) merged.set(e.epoch, e);
    this.epochs.set(d.id, [...merged.values()].sort((a, b) => a.epoch - b.epoch));
  }

  /** Marks the history of `jobId` as asked for; false when it already was. */
  wantHistory(jobId: string): boolean {
    const c = this.jobCurves(jobId);
    if (c.history !== null) return false;
    c.history = 'loading';
    return true;
  }

  /** Stored curves first, then the live points that arrived while they loaded. */
  setHistory(h: StepHistory | null): void {
    if (!h) return;
    const c = this.jobCurves(h.jobId);
    for (const mod of h.modules) {
      const curves = this.moduleCurves(c, mod.module);
      mod.step.forEach((step, i) => {
        if (step <= c.lastStep && curves.loss.length > 0) return;
        curves.loss.push(step, mod.loss[i] ?? null);
        curves.accuracy.push(step, mod.accuracy[i] ?? null);
      });
    }
    c.lastStep = Math.max(c.lastStep, ...h.modules.flatMap((m) => m.step));
    this.finishHistory(c);
  }

  /** History could not be loaded: show live points from now on. */
  historyFailed(jobId: string): void {
    this.finishHistory(this.jobCurves(jobId));
  }

  modulesOf(jobId: string): Map<number, ModuleCurves> {
    return this.curves.get(jobId)?.modules ?? new Map<number, ModuleCurves>();
  }

  /** Every job, newest first. */
  jobs(): JobView[] {
    const ids = new Set([...this.summaries.keys(), ...this.live.keys()]);
    const views: JobView[] = [];
    for (const id of ids) {
      const summary = this.summaries.get(id) ?? null;
      const live = this.live.get(id) ?? null;
      views.push({
        id,
        status: live?.status ?? summary?.status ?? 'unknown',
        summary,
        live,
        modules: live?.modules ?? summary?.spec.modules ?? 0,
        context: live?.context ?? summary?.spec.context ?? 'R0',
        model: live?.model ?? summary?.spec.model ?? '?',
        dataset: live?.dataset ?? summary?.spec.dataset ?? '?',
        createdAt: live?.createdAt ?? summary?.createdAt ?? 0,
      });
    }
    return views.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  }

  job(id: string | null): JobView | null {
    return id === null ? null : (this.jobs().find((j) => j.id === id) ?? null);
  }

  private finishHistory(c: JobCurves): void {
    c.history = 'loaded';
    const pending = c.pending;
    c.pending = [];
    for (const m of pending) this.addMetrics(c, m);
  }

  private addMetrics(c: JobCurves, m: DashMetrics): void {
    for (const mod of m.modules) {
      const curves = this.moduleCurves(c, mod.module);
      const last = curves.loss.lastX;
      if (last !== undefined && m.step <= last && m.step <= c.lastStep) continue;
      curves.loss.push(m.step, Number.isFinite(mod.loss) ? mod.loss : null);
      curves.accuracy.push(m.step, mod.correct === null ? null : (100 * mod.correct) / Math.max(1, mod.count));
    }
    c.lastStep = Math.max(c.lastStep, m.step);
  }

  private jobCurves(jobId: string): JobCurves {
    let c = this.curves.get(jobId);
    if (!c) this.curves.set(jobId, (c = { modules: new Map(), history: null, pending: [], lastStep: -1 }));
    return c;
  }

  private moduleCurves(c: JobCurves, module: number): ModuleCurves {
    let m = c.modules.get(module);
    if (!m) c.modules.set(module, (m = newCurves()));
    return m;
  }

  private updateRates(jobId: string, stage: number, at: number, bytesIn: number, bytesOut: number, samples: number): void {
    const key = `${jobId}/${stage}`;
    const prev = this.rates.get(key);
    if (!prev || at <= prev.at) {
      this.rates.set(key, { at, bytesIn, bytesOut, samples, inPerSec: prev?.inPerSec ?? null, outPerSec: prev?.outPerSec ?? null, samplesPerSec: prev?.samplesPerSec ?? null });
      return;
    }
    const dt = (at - prev.at) / 1000;
    // Counters restart when a lost stage moves to another device: no negative rates.
    const rate = (now: number, before: number, old: number | null): number => {
      const r = Math.max(0, now - before) / dt;
      return old === null ? r : old + RATE_EMA * (r - old);
    };
    this.rates.set(key, {
      at,
      bytesIn,
      bytesOut,
      samples,
      inPerSec: rate(bytesIn, prev.bytesIn, prev.inPerSec),
      outPerSec: rate(bytesOut, prev.bytesOut, prev.outPerSec),
      samplesPerSec: rate(samples, prev.samples, prev.samplesPerSec),
    });
  }
}

/** Seconds left for a running job: elapsed time scaled by the steps still to go (evaluation time included on average). */
export function etaSeconds(job: JobView, now: number): number | null {
  const live = job.live;
  if (!live || live.status !== 'running' || live.startedAt === null || live.stepsDone <= 0 || live.totalSteps <= 0) return null;
  const elapsed = (now - live.startedAt) / 1000;
  return (elapsed * (live.totalSteps - live.stepsDone)) / live.stepsDone;
}

/** Test accuracy by depth (module 1..K) of one evaluation: local heads, then the network's classifier. */
export function informationCurve(e: EpochResult, modules: number): Array<number | null> {
  const acc: Array<number | null> = [];
  for (let k = 0; k < modules - 1; k++) {
    const err = e.moduleErrors[k];
    acc.push(err === null || err === undefined ? null : 100 - err);
  }
  acc.push(e.testError === null ? null : 100 - e.testError);
  return acc;
}

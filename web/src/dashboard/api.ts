import type { StepHistory } from '../../../protocol/dashboard-messages.js';
import type { JobSpec } from '../../../protocol/job-spec.js';

const TOKEN_KEY = 'contsup.adminToken';

/** The admin token lives in sessionStorage: gone when the tab closes, never in a URL or cookie. */
export function adminToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setAdminToken(token: string): void {
  try {
    if (token === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage blocked (privacy mode): the token then lasts until reload only.
  }
}

export interface JobProgressLite {
  epoch: number;
  phase: 'train' | 'eval';
  batchesPerEpoch: number;
  evalBatches: number;
  totalSteps: number;
  stepsDone: number;
}

/** What the dashboard reads of `GET /api/jobs` (server/jobs/job-views.ts JobSummary). */
export interface JobSummaryLite {
  id: string;
  status: string;
  spec: JobSpec;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  waitingFor: string | null;
  epochsDone: number;
  progress: JobProgressLite | null;
}

export interface PlanEntryLite {
  stage: number;
  deviceId: string;
  deviceName: string;
  firstModule: number;
  lastModule: number;
  estimatedMsPerBatch: number;
  measuredMsPerBatch: number | null;
}

export interface EpochLite {
  epoch: number;
  testError: number | null;
  moduleErrors: Array<number | null>;
}

/** `GET /api/jobs/:id` (JobDetail). */
export interface JobDetailLite extends JobSummaryLite {
  plan: PlanEntryLite[];
  epochs: EpochLite[];
}

export interface ApiResult<T> {
  ok: boolean;
  status: number;
  body: T | null;
  /** The server's message on failure (Nest error bodies carry `message`). */
  message: string;
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, auth = false): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = adminToken();
  if (auth && token !== '') headers['authorization'] = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err: unknown) {
    return { ok: false, status: 0, body: null, message: `the coordinator is unreachable (${err instanceof Error ? err.message : String(err)})` };
  }
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (res.ok) return { ok: true, status: res.status, body: parsed as T, message: '' };
  const m = (parsed as { message?: unknown } | null)?.message;
  const message = Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : text || res.statusText;
  return { ok: false, status: res.status, body: null, message };
}

export const api = {
  jobs: () => call<JobSummaryLite[]>('GET', '/api/jobs'),
  job: (id: string) => call<JobDetailLite>('GET', `/api/jobs/${encodeURIComponent(id)}`),
  steps: (id: string, points = 1000) => call<StepHistory>('GET', `/api/jobs/${encodeURIComponent(id)}/steps?points=${points}`),
  create: (spec: Partial<JobSpec>) => call<JobDetailLite>('POST', '/api/jobs', spec, true),
  stop: (id: string) => call<JobDetailLite>('POST', `/api/jobs/${encodeURIComponent(id)}/stop`, undefined, true),
};

import type { JobSpec } from '../../../protocol/job-spec.js';
import type { JobDetail, JobSummary, StepHistory } from '../../../protocol/rest-messages.js';

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
  let parsed: unknown;
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
  jobs: () => call<JobSummary[]>('GET', '/api/jobs'),
  job: (id: string) => call<JobDetail>('GET', `/api/jobs/${encodeURIComponent(id)}`),
  steps: (id: string, points = 1000) => call<StepHistory>('GET', `/api/jobs/${encodeURIComponent(id)}/steps?points=${points}`),
  create: (spec: Partial<JobSpec>) => call<JobDetail>('POST', '/api/jobs', spec, true),
  stop: (id: string) => call<JobDetail>('POST', `/api/jobs/${encodeURIComponent(id)}/stop`, undefined, true),
};

import { JOB_SPEC_DEFAULTS, maxModulesFor, type JobSpec } from '../../../protocol/job-spec.js';
import { CONTEXT_PATTERN, DATASET_NAMES, HEAD_NAMES, MODEL_NAMES, WIRE_DTYPES, type ModelName } from '../../../protocol/names.js';
import { byId, h } from '../common/dom.js';
import { adminToken, api, setAdminToken } from './api.js';

type Field =
  | { key: keyof JobSpec; label: string; kind: 'select'; options: readonly string[]; value: string }
  | { key: keyof JobSpec; label: string; kind: 'int' | 'number'; value: string; min?: number; step?: string; optional?: boolean }
  | { key: keyof JobSpec; label: string; kind: 'text'; value: string };

// A small CPU-friendly default: a first job finishes in minutes on laptops.
const FIELDS: Field[] = [
  { key: 'model', label: 'model', kind: 'select', options: MODEL_NAMES, value: 'resnet20' },
  { key: 'modules', label: 'modules K', kind: 'int', value: '4', min: 1 },
  { key: 'context', label: 'context', kind: 'text', value: JOB_SPEC_DEFAULTS.context },
  { key: 'head', label: 'head', kind: 'select', options: HEAD_NAMES, value: JOB_SPEC_DEFAULTS.head },
  { key: 'dataset', label: 'dataset', kind: 'select', options: DATASET_NAMES, value: JOB_SPEC_DEFAULTS.dataset },
  { key: 'epochs', label: 'epochs', kind: 'int', value: '1', min: 1 },
  { key: 'batchSize', label: 'batch', kind: 'int', value: String(JOB_SPEC_DEFAULTS.batchSize), min: 2 },
  { key: 'lr', label: 'lr', kind: 'number', value: String(JOB_SPEC_DEFAULTS.lr), step: 'any' },
  { key: 'limitTrain', label: 'train limit', kind: 'int', value: '', min: 2, optional: true },
  { key: 'limitTest', label: 'test limit', kind: 'int', value: '', min: 1, optional: true },
  { key: 'wire', label: 'wire', kind: 'select', options: WIRE_DTYPES, value: JOB_SPEC_DEFAULTS.wire },
  { key: 'minDevices', label: 'min devices', kind: 'int', value: '1', min: 1 },
];

export interface ControlsHooks {
  /** A job was created: follow it. */
  created(id: string): void;
  /** Something changed on the server: refresh the job list. */
  changed(): void;
}

const message = (): HTMLElement => byId('control-message');

function say(kind: 'ok' | 'bad', text: string): void {
  const el = message();
  el.className = `message ${kind === 'bad' ? 'bad' : ''}`;
  el.dataset['kind'] = kind;
  el.textContent = text;
}

function refusal(status: number, text: string): string {
  if (status === 401) return `refused (401): the admin token is missing or wrong. ${text}`;
  return `refused (${status || 'network'}): ${text}`;
}

/** True when an admin token is set; without it the dashboard is read-only. */
export function isAdmin(): boolean {
  return adminToken() !== '';
}

/** Admin token field, mode badge and the create form. */
export function setupControls(hooks: ControlsHooks): { refresh(): void } {
  const tokenInput = byId<HTMLInputElement>('admin-token');
  const mode = byId('mode');
  const form = byId<HTMLFormElement>('create-form');
  const inputs = new Map<keyof JobSpec, HTMLInputElement | HTMLSelectElement>();

  for (const f of FIELDS) {
    let input: HTMLInputElement | HTMLSelectElement;
    if (f.kind === 'select') {
      input = h('select', { name: f.key }, ...f.options.map((o) => h('option', { value: o }, o)));
      input.value = f.value;
    } else {
      input = h('input', {
        name: f.key,
        type: f.kind === 'text' ? 'text' : 'number',
        value: f.value,
        min: f.kind === 'text' ? undefined : f.min,
        step: f.kind === 'number' ? (f.step ?? 'any') : f.kind === 'int' ? 1 : undefined,
        placeholder: f.kind !== 'text' && f.optional ? 'all' : undefined,
        size: f.kind === 'text' ? 5 : undefined,
      });
    }
    inputs.set(f.key, input);
    form.append(h('label', {}, f.label, input));
  }
  const createButton = h('button', { type: 'submit', id: 'create-job' }, 'Create & start');
  form.append(createButton);

  const refresh = (): void => {
    const admin = isAdmin();
    mode.dataset['mode'] = admin ? 'admin' : 'read-only';
    mode.className = `pill ${admin ? 'pill-admin' : 'pill-readonly'}`;
    mode.textContent = admin ? 'admin' : 'read-only';
    createButton.disabled = !admin;
    createButton.title = admin ? '' : 'enter the admin token first (read-only without it)';
    for (const b of document.querySelectorAll<HTMLButtonElement>('button.stop-job')) b.disabled = !admin;
  };

  tokenInput.value = adminToken();
  byId<HTMLFormElement>('token-form').addEventListener('submit', () => {
    setAdminToken(tokenInput.value.trim());
    refresh();
    say('ok', isAdmin() ? 'admin token set for this tab (sessionStorage); the server checks it on every change' : 'read-only');
  });
  byId('token-clear').addEventListener('click', () => {
    tokenInput.value = '';
    setAdminToken('');
    refresh();
    say('ok', 'admin token forgotten: read-only');
  });

  form.addEventListener('submit', () => void create());

  async function create(): Promise<void> {
    const spec = readSpec();
    if (typeof spec === 'string') {
      say('bad', spec);
      return;
    }
    createButton.disabled = true;
    const res = await api.create(spec);
    refresh();
    if (!res.ok || !res.body) {
      say('bad', refusal(res.status, res.message));
      return;
    }
    say('ok', `job ${res.body.id} created`);
    hooks.created(res.body.id);
    hooks.changed();
  }

  function readSpec(): Partial<JobSpec> | string {
    const spec: Record<string, unknown> = {};
    for (const f of FIELDS) {
      const raw = inputs.get(f.key)!.value.trim();
      if (f.kind === 'select' || f.kind === 'text') {
        spec[f.key] = raw;
        continue;
      }
      if (raw === '') {
        if (f.optional) continue;
        return `${f.label}: a number is needed`;
      }
      const n = Number(raw);
      if (!Number.isFinite(n) || (f.kind === 'int' && !Number.isInteger(n))) return `${f.label}: "${raw}" is not ${f.kind === 'int' ? 'an integer' : 'a number'}`;
      spec[f.key] = n;
    }
    if (!CONTEXT_PATTERN.test(String(spec['context']))) return `context: "${String(spec['context'])}" must be R0, E, R<n> or R<n>E (e.g. R1E)`;
    const max = maxModulesFor(spec['model'] as ModelName);
    if ((spec['modules'] as number) > max) return `modules: ${spec['model'] as string} can be cut into at most ${max} modules`;
    return spec as Partial<JobSpec>;
  }

  refresh();
  return { refresh };
}

/** A stop button for one job's row; disabled (read-only) without the admin token. */
export function stopButton(jobId: string, hooks: ControlsHooks): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'danger stop-job', 'data-job': jobId, title: isAdmin() ? 'stop this job' : 'enter the admin token first (read-only without it)' }, 'stop');
  b.disabled = !isAdmin();
  b.addEventListener('click', (ev) => {
    ev.stopPropagation();
    b.disabled = true;
    void api.stop(jobId).then((res) => {
      if (res.ok) say('ok', `job ${jobId} stopped`);
      else say('bad', refusal(res.status, res.message));
      hooks.changed();
    });
  });
  return b;
}


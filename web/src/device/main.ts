import '../common/style.css';
import * as tf from '@tensorflow/tfjs-core';
import { DeviceRuntime } from '../../../client/device-runtime.js';
import type { DeviceLogLevel, DeviceMetrics, DeviceStageInfo, DeviceStatus } from '../../../client/device-types.js';
import { byId, fill, h } from '../common/dom.js';
import { bytes, clock, num } from '../common/format.js';
import { BROWSER_BACKENDS, selectBrowserBackend, type BackendChoice, type BrowserBackendName } from './backend.js';
import { readAsync } from '../../../engine/backend/matmul-rate.js';
import { measureDeviceSpeed } from '../../../engine/backend/speed.js';

/**
 * The browser device page (`/device`): one click joins the coordinator that
 * served the page (its origin) with the join token, on the fastest working
 * backend, and runs whatever stage it is assigned with the same
 * DeviceRuntime as `contsup device`. Closing the tab is an ordinary
 * disconnect: the coordinator re-assigns the stage.
 */

const LOG_LINES = 300;

const params = new URLSearchParams(location.search);
const tokenInput = byId<HTMLInputElement>('token');
const nameInput = byId<HTMLInputElement>('name');
const backendSelect = byId<HTMLSelectElement>('backend-choice');
const joinButton = byId<HTMLButtonElement>('join');
const leaveButton = byId<HTMLButtonElement>('leave');
const statusEl = byId('status');
const backendEl = byId('backend');
const fallbackEl = byId('fallback');
const stageEl = byId('stage');
const speedEl = byId('speed');
const samplesEl = byId('samples');
const lossEl = byId('loss');
const memoryEl = byId('memory');
const logEl = byId('log');

tokenInput.value = params.get('token') ?? '';
nameInput.value = params.get('name') ?? `browser-${Math.random().toString(36).slice(2, 6)}`;
for (const b of ['auto', ...BROWSER_BACKENDS]) backendSelect.append(h('option', { value: b }, b === 'auto' ? 'best available' : b));
const forced = params.get('backend');
if (forced !== null && (BROWSER_BACKENDS as readonly string[]).includes(forced)) backendSelect.value = forced;

let runtime: DeviceRuntime | null = null;
let backendChosen: BackendChoice | null = null;
let samplesDone = 0;

function log(level: DeviceLogLevel, message: string): void {
  const line = h('div', { class: `log-${level}` }, `${clock(Date.now())} ${message}`);
  logEl.append(line);
  while (logEl.childElementCount > LOG_LINES) logEl.firstElementChild?.remove();
  logEl.scrollTop = logEl.scrollHeight;
  (level === 'error' ? console.warn : console.info)(`[device] ${message}`);
}

function showStatus(s: DeviceStatus): void {
  statusEl.dataset['state'] = s.state;
  fill(statusEl, h('span', { class: `pill pill-${s.state}` }, s.state), s.deviceId ? ` ${s.deviceId}` : '', s.detail ? ` (${s.detail})` : '');
  const active = s.state !== 'stopped' && s.state !== 'rejected';
  joinButton.disabled = active;
  leaveButton.disabled = !active;
}

function showBackend(choice: BackendChoice): void {
  backendEl.dataset['backend'] = choice.name;
  fill(backendEl, h('strong', {}, choice.name), ` ${choice.detail.replace(/^\S+\s*/, '')}`);
  fallbackEl.dataset['fellBack'] = String(choice.skipped.length > 0);
  fill(
    fallbackEl,
    ...choice.skipped.map((why) => h('div', {}, `fell back: ${why}`)),
    choice.software ? h('div', {}, 'software GPU: WebAssembly is usually faster here') : null,
  );
  backendEl.dataset['software'] = String(choice.software);
}

let lastStage: DeviceStageInfo | null = null;

function describeStage(st: DeviceStageInfo): string {
  const j = st.job;
  return `job ${st.jobId}: stage ${st.stage}, modules ${st.firstModule}..${st.lastModule} of ${j.modules} (${j.model}, ${j.context}, batch ${j.batchSize})`;
}

function showStage(st: DeviceStageInfo | null): void {
  if (!st) {
    stageEl.dataset['stage'] = '';
    fill(stageEl, 'none: waiting for the coordinator to assign one', lastStage ? h('div', { class: 'muted' }, `last: ${describeStage(lastStage)}, released`) : null);
    return;
  }
  lastStage = st;
  stageEl.dataset['stage'] = String(st.stage);
  stageEl.dataset['job'] = st.jobId;
  fill(stageEl, `${describeStage(st)} — ${st.state}`);
}

function showMetrics(m: DeviceMetrics): void {
  if (m.kind === 'train') {
    const { metrics } = m;
    samplesDone += metrics.modules[0]?.count ?? 0;
    speedEl.textContent = `${num(metrics.samplesPerSec, 1)} samples/s`;
    samplesEl.dataset['count'] = String(samplesDone);
    samplesEl.textContent = `${samplesDone} (epoch ${metrics.epoch}, step ${metrics.step})`;
    const losses = metrics.modules.map((s) => `m${s.module} ${num(s.loss, 3)}${s.correct === null ? '' : ` (${Math.round((100 * s.correct) / Math.max(1, s.count))}%)`}`).join('  ');
    fill(lossEl, losses);
    log('info', `epoch ${metrics.epoch} step ${metrics.step}: loss ${losses} | ${num(metrics.samplesPerSec, 1)} samples/s`);
  } else {
    const acc = m.eval.modules.map((s) => `m${s.module} ${s.correct === null ? '–' : `${s.correct}/${s.count}`}`).join(' ');
    log('info', `eval batch ${m.eval.batchId}: correct ${acc}`);
  }
}

function showMemory(): void {
  // tf.memory() before a backend is chosen would make tfjs pick one itself.
  if (backendChosen === null) return;
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesInGPUAllocated?: number };
  const gpu = m.numBytesInGPU !== undefined ? `, GPU ${bytes(m.numBytesInGPU)}` : '';
  memoryEl.textContent = `${m.numTensors} tensors, ${bytes(m.numBytes)}${gpu}`;
  memoryEl.dataset['tensors'] = String(m.numTensors);
}

/** What the planner may count on: half of what the browser admits to (capped at 8 GiB by the spec), else 1 GiB. */
function memoryBudget(): number {
  const gib = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  return typeof gib === 'number' && gib > 0 ? (gib * 2 ** 30) / 2 : 2 ** 30;
}

async function join(): Promise<void> {
  joinButton.disabled = true;
  samplesDone = 0;
  try {
    const want = backendSelect.value === 'auto' ? undefined : (backendSelect.value as BrowserBackendName);
    log('info', want ? `starting backend ${want}` : 'choosing the fastest backend (WebGPU, WebGL, WebAssembly, CPU)');
    const choice = await selectBrowserBackend(want, (why) => log('warn', why));
    backendChosen = choice;
    showBackend(choice);
    log('info', `backend: ${choice.detail}`);
    if (choice.software) log('warn', `${choice.name} runs on a software GPU here: WebAssembly is usually several times faster (choose "wasm" under backend, or open /device?backend=wasm)`);
    backendSelect.disabled = true;
    const rt = new DeviceRuntime({
      url: location.origin,
      token: tokenInput.value.trim(),
      name: nameInput.value.trim().slice(0, 128) || 'browser',
      kind: 'browser',
      backend: choice.name,
      memoryBytes: memoryBudget(),
      // data(), not dataSync(): WebGPU cannot read synchronously.
      measureSpeed: () => measureDeviceSpeed(readAsync),
      userAgent: `${navigator.userAgent}; ${choice.detail}`,
      ...(choice.adapter !== undefined ? { adapter: choice.adapter } : {}),
      log,
      onStatus: showStatus,
      onStage: showStage,
      onMetrics: showMetrics,
    });
    runtime = rt;
    await rt.start();
  } catch (err: unknown) {
    log('error', err instanceof Error ? err.message : String(err));
    joinButton.disabled = false;
  }
}

async function leave(): Promise<void> {
  const rt = runtime;
  runtime = null;
  leaveButton.disabled = true;
  await rt?.stop();
  joinButton.disabled = false;
}

joinButton.addEventListener('click', () => void join());
leaveButton.addEventListener('click', () => void leave());
// Leave at once instead of waiting for the coordinator's heartbeat timeout.
window.addEventListener('pagehide', () => void runtime?.stop());
setInterval(showMemory, 1000);
showMemory();
showStage(null);
if (params.get('join') === '1') void join();

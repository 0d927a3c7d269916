import * as ort from 'onnxruntime-web/wasm';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import type { JobDetail, TestImages } from '../../../protocol/rest-messages.js';
import { byId, fill, h } from '../common/dom.js';

/**
 * "Try the model": the job's exported ONNX network (GET /api/jobs/:id/model.onnx)
 * runs in the page with onnxruntime-web (wasm, bundled, no CDN). The user
 * picks one of the job's test images or drops an image file; the panel shows
 * the predicted class and the top-5 probabilities.
 */

// The .wasm binary is a hashed asset of the build; one thread, because the
// dashboard is not cross-origin isolated (no SharedArrayBuffer).
ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };
ort.env.wasm.numThreads = 1;

interface Loaded {
  jobId: string;
  session: ort.InferenceSession;
  channels: number;
  size: number;
  /** Label names of an image-folder job (index = label); absent for the built-in sets. */
  classNames: readonly string[];
}

/** "3", or "3 (cat)" when the job's data set named its classes. */
function classLabel(i: number): string {
  const name = loaded?.classNames[i];
  return name === undefined ? String(i) : `${i} (${name})`;
}

let loaded: Loaded | null = null;
let shownFor: string | null = null;

function message(text: string): void {
  fill(byId('try-message'), text);
}

/** Shows the panel for the selected job: a button to load its model, reset when the job changes. */
export function renderTryModel(jobId: string | null, status: string | null): void {
  const panel = byId('try-model');
  if (jobId === shownFor) return;
  shownFor = jobId;
  void loaded?.session.release();
  loaded = null;
  fill(byId('try-images'));
  fill(byId('try-result'));
  message('');
  panel.hidden = jobId === null;
  const button = byId<HTMLButtonElement>('try-load');
  button.disabled = jobId === null;
  button.onclick = () => void load(jobId!);
  panel.dataset['job'] = jobId ?? '';
  panel.dataset['state'] = 'idle';
  if (status === 'waiting') message('the model exists once the job has checkpointed an epoch');
}

async function load(jobId: string): Promise<void> {
  const panel = byId('try-model');
  panel.dataset['state'] = 'loading';
  message('loading the model…');
  try {
    const res = await fetch(`/api/jobs/${encodeURIComponent(jobId)}/model.onnx`);
    if (!res.ok) throw new Error(await errorText(res));
    const session = await ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()), { executionProviders: ['wasm'] });
    const imagesRes = await fetch(`/api/jobs/${encodeURIComponent(jobId)}/test-images?count=12`);
    if (!imagesRes.ok) throw new Error(await errorText(imagesRes));
    const images = (await imagesRes.json()) as TestImages;
    const jobRes = await fetch(`/api/jobs/${encodeURIComponent(jobId)}`);
    const classNames = jobRes.ok ? ((await jobRes.json()) as JobDetail).classNames ?? [] : [];
    if (shownFor !== jobId) {
      void session.release();
      return;
    }
    loaded = { jobId, session, channels: images.channels, size: images.height, classNames };
    showTestImages(images);
    panel.dataset['state'] = 'ready';
    message('pick a test image, or drop an image file here');
  } catch (err: unknown) {
    panel.dataset['state'] = 'failed';
    message(`cannot try the model: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function errorText(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    // Not JSON: the text is the message.
  }
  return text || `${res.status} ${res.statusText}`;
}

function showTestImages(set: TestImages): void {
  const thumbs = set.images.map((b64, i) => {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const canvas = h('canvas', { width: set.width, height: set.height, class: 'thumb', title: `test image ${i}, class ${set.labels[i]}`, 'data-index': i });
    const ctx = canvas.getContext('2d')!;
    const rgba = new ImageData(set.width, set.height);
    for (let p = 0; p < set.width * set.height; p++) {
      for (let c = 0; c < 3; c++) rgba.data[4 * p + c] = bytes[p * set.channels + (set.channels === 1 ? 0 : c)]!;
      rgba.data[4 * p + 3] = 255;
    }
    ctx.putImageData(rgba, 0, 0);
    canvas.onclick = () => void predict(rgba, `test image ${i} (true class ${set.labels[i]})`);
    return canvas;
  });
  fill(byId('try-images'), ...thumbs);
}

/** Dropped or picked files: decoded by the browser, scaled to the model's input size. */
export function setupTryModel(): void {
  const panel = byId('try-model');
  const input = byId<HTMLInputElement>('try-file');
  input.onchange = () => {
    const file = input.files?.[0];
    if (file) void predictFile(file);
  };
  panel.addEventListener('dragover', (e) => e.preventDefault());
  panel.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer?.files[0];
    if (file) void predictFile(file);
  });
}

async function predictFile(file: File): Promise<void> {
  if (!loaded) {
    message('load the model first');
    return;
  }
  try {
    const bitmap = await createImageBitmap(file);
    const canvas = h('canvas', { width: loaded.size, height: loaded.size });
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0, loaded.size, loaded.size);
    bitmap.close();
    await predict(ctx.getImageData(0, 0, loaded.size, loaded.size), file.name);
  } catch (err: unknown) {
    message(`cannot read ${file.name} as an image: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** RGBA pixels -> NCHW float32 pixel / 255 (the export's input); grey models get the mean of R, G, B. */
function toInput(img: ImageData, channels: number): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(channels * n);
  for (let p = 0; p < n; p++) {
    const [r, g, b] = [img.data[4 * p]!, img.data[4 * p + 1]!, img.data[4 * p + 2]!];
    if (channels === 1) out[p] = (r + g + b) / 3 / 255;
    else for (let c = 0; c < 3; c++) out[c * n + p] = [r, g, b][c]! / 255;
  }
  return out;
}

async function predict(img: ImageData, what: string): Promise<void> {
  if (!loaded) return;
  const { session, channels, size } = loaded;
  const out = await session.run({ image: new ort.Tensor('float32', toInput(img, channels), [1, channels, size, size]) });
  const p = out['probabilities']!.data as Float32Array;
  const top = Array.from(p, (v, i) => ({ i, v })).sort((a, b) => b.v - a.v).slice(0, 5);
  const result = byId('try-result');
  result.dataset['predicted'] = String(top[0]!.i);
  fill(
    result,
    h('div', {}, `${what}: predicted class `, h('strong', { id: 'try-predicted' }, classLabel(top[0]!.i))),
    h('table', {}, h('tbody', { id: 'try-top5' }, ...top.map((t) => h('tr', { 'data-class': t.i }, h('td', {}, `class ${classLabel(t.i)}`), h('td', { class: 'num' }, `${(100 * t.v).toFixed(1)}%`))))),
  );
}

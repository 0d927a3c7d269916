// Node-only: loads tfjs-core's gradient definitions, which the Node build of
// tfjs-core (dist/tf-core.node.js) does not contain. Keep this file out of
// browser bundles; browsers import register_all_gradients directly (see gradients.ts).
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

// tfjs-core ships its gradients only as ES modules with extension-less relative
// imports ('../ops/conv2d'), which Node's ESM resolver rejects. These hooks add
// the extension, only for imports made from inside tfjs-core's dist folder.
const HOOKS = `
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const CORE = '/@tensorflow/tfjs-core/dist/';
const isRelative = (s) => s.startsWith('./') || s.startsWith('../');
export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent && parent.includes(CORE) && isRelative(specifier) && !specifier.endsWith('.js')) {
    const file = new URL(specifier + '.js', parent);
    const url = existsSync(fileURLToPath(file)) ? file : new URL(specifier + '/index.js', parent);
    return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  // The package has no "type": "module"; its non-bundle dist files are ESM nonetheless.
  if (url.startsWith('file:') && url.includes(CORE) && !/\\/tf-core[^/]*\\.js$/.test(url)) {
    return next(url, { ...context, format: 'module' });
  }
  return next(url, context);
}
`;

let loading: Promise<void> | null = null;

/**
 * Node's own import(), even inside vitest: vitest rewrites import() and would
 * transform all ~450 tfjs-core modules itself (6.5 s instead of ~1 s per test file).
 */
async function nativeImport(url: string): Promise<void> {
  // Kept unbound so the finally block restores the very same function; it is
  // called with `process` as `this` below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const emit = process.emitWarning;
  // Node calls this vm option (available since 20.12) experimental; without the
  // filter that warning shows in the output of every test file.
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning).includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    (emit as (w: string | Error, ...r: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    const script = new vm.Script('(url) => import(url)', {
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    await (script.runInThisContext() as (u: string) => Promise<unknown>)(url);
  } finally {
    process.emitWarning = emit;
  }
}

/**
 * Registers all of tfjs-core's gradients (once per process). Their modules form a
 * second copy of tfjs-core's internals, which is safe: the engine, the kernel and
 * gradient registries and the Tensor class are process-wide globals in tfjs 4.
 */
export function loadCoreGradientsInNode(): Promise<void> {
  loading ??= (async () => {
    register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    await nativeImport(pathToFileURL(entry).href);
  })();
  return loading;
}

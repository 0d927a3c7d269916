// Builds the native backend's addon (engine/native/build/Release/contsup_native.node).
// Run by the root package's `install` script during `npm ci`, and by `npm run build:native`.
// Finds libtorch: $LIBTORCH, else the `torch` package of python3 (on PATH, then
// /usr/bin/python3) when it ships headers, else the system's (Debian `libtorch-dev`).
// Without --strict any failure prints one line and exits 0: everything then runs on wasm.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');
const HOW = 'apt-get install libtorch-dev (Debian/Ubuntu), or LIBTORCH=/path/to/libtorch, or a python3 with torch, then npm run build:native';

function usable(include, lib) {
  return existsSync(path.join(include, 'ATen', 'ATen.h')) && existsSync(path.join(lib, 'libtorch_cpu.so')) && existsSync(path.join(lib, 'libc10.so'));
}

function fromPython(python) {
  const script = 'import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))';
  const r = spawnSync(python, ['-c', script], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return null;
  const [dir, abi] = r.stdout.trim().split('\n');
  const include = path.join(dir, 'include');
  const lib = path.join(dir, 'lib');
  return usable(include, lib) ? { include, lib, abi, source: `${python}'s torch (${dir})` } : null;
}

function findLibtorch() {
  if (process.env.LIBTORCH) {
    const dir = process.env.LIBTORCH;
    const include = path.join(dir, 'include');
    const lib = path.join(dir, 'lib');
    if (!usable(include, lib)) throw new Error(`LIBTORCH=${dir} has no include/ATen/ATen.h and lib/libtorch_cpu.so`);
    return { include, lib, abi: process.env.LIBTORCH_CXX11_ABI ?? '1', source: `LIBTORCH=${dir}` };
  }
  for (const python of ['python3', '/usr/bin/python3']) {
    const found = fromPython(python);
    if (found) return found;
  }
  const arch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch] ?? '';
  for (const lib of [`/usr/lib/${arch}`, '/usr/lib', '/usr/local/lib']) {
    if (usable('/usr/include', lib)) return { include: '/usr/include', lib, abi: '1', source: `the system's libtorch (${lib})` };
  }
  throw new Error('no libtorch found');
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const bundled = path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  if (existsSync(bundled)) return bundled;
  throw new Error("npm's node-gyp was not found");
}

/** Node's own headers (no download): npm_config_nodedir, else the prefix of this node. */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  throw new Error(`Node's headers are not in ${prefix}/include/node (set npm_config_nodedir)`);
}

function main() {
  if (process.env.CONTSUP_NATIVE === 'off') {
    console.log('contsup native backend: not built (CONTSUP_NATIVE=off); training runs on wasm');
    return 0;
  }
  let torch;
  try {
    torch = findLibtorch();
  } catch (err) {
    console.log(`contsup native backend: not built (${err.message}); training runs on wasm. To enable it: ${HOW}`);
    return strict ? 1 : 0;
  }
  const logFile = path.join(here, 'build', 'build.log');
  try {
    const env = {
      ...process.env,
      npm_config_nodedir: nodeDir(),
      CONTSUP_LIBTORCH_INCLUDE: torch.include,
      CONTSUP_LIBTORCH_LIB: torch.lib,
      CONTSUP_LIBTORCH_CXX11_ABI: torch.abi,
    };
    const r = spawnSync(process.execPath, [nodeGyp(), 'rebuild', '--jobs', 'max'], { cwd: here, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    mkdirSync(path.dirname(logFile), { recursive: true });
    writeFileSync(logFile, `${r.stdout ?? ''}${r.stderr ?? ''}`);
    if (r.status !== 0) throw new Error(`node-gyp failed with ${torch.source}, see ${path.relative(process.cwd(), logFile)}`);
  } catch (err) {
    console.log(`contsup native backend: not built (${err.message}); training runs on wasm. To enable it: ${HOW}`);
    return strict ? 1 : 0;
  }
  console.log(`contsup native backend: built with ${torch.source}`);
  return 0;
}

process.exitCode = main();

import { existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NestExpressApplication } from '@nestjs/platform-express';

/** Vite writes this into every build; a source folder (web/) never has it. */
const BUILD_MARKER = join('.vite', 'manifest.json');

/** Pages the app answers with a hint when the front end was never built. */
const PAGES = new Set(['/', '/index.html', '/device', '/device.html']);

/**
 * Where the built front end is: `dir` when given, else dist/web next to the
 * compiled server (dist/server/dashboard -> dist/web) or, when the server
 * runs from its TypeScript sources (tests), <repo>/dist/web.
 */
export function findWebDir(dir?: string): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = dir !== undefined ? [resolve(dir)] : [resolve(here, '../../web'), resolve(here, '../../dist/web')];
  return candidates.find((c) => existsSync(join(c, BUILD_MARKER))) ?? null;
}

function cacheHeaders(res: ServerResponse, path: string): void {
  // Vite puts a content hash in every file name under assets/: cache forever.
  if (/[\\/]assets[\\/]/.test(path)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
  else res.setHeader('Cache-Control', 'no-cache');
}

/**
 * Serves the front end built by `vite build --config web/vite.config.ts`:
 * `/` the dashboard (index.html), `/device` the browser device page
 * (device.html), `/assets/*` scripts, styles and the tfjs .wasm binaries.
 * Anything else (/api, /socket.io) falls through to Nest and Socket.IO.
 * Must run before `app.listen` (Nest registers its routes then, after this).
 */
export function serveWebApp(app: NestExpressApplication, opts: { dir?: string; log: (m: string) => void }): string | null {
  const dir = findWebDir(opts.dir);
  if (dir === null) {
    const where = opts.dir ?? 'dist/web';
    opts.log(`dashboard not served: no built front end in ${where} (run npm run build)`);
    app.use((req: { method: string; path: string }, res: ServerResponse, next: () => void) => {
      if (req.method !== 'GET' || !PAGES.has(req.path)) return next();
      res.statusCode = 503;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`The contsup dashboard is not built: run \`npm run build\` (vite writes it to ${where}), then restart the coordinator. The REST API (/api) and devices work without it.\n`);
    });
    return null;
  }
  app.useStaticAssets(dir, {
    index: 'index.html',
    // /device -> device.html
    extensions: ['html'],
    redirect: false,
    dotfiles: 'ignore',
    setHeaders: cacheHeaders,
  });
  return dir;
}

/**
 * Downloads one file over http(s) with redirects, progress and an md5 check.
 *
 * The body is streamed to `<dest>.part` and renamed to `<dest>` only after the
 * byte count and checksum match, so an interrupted or corrupt download never
 * leaves a file that a later run would take for a valid one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';

export interface DownloadProgress {
  file: string;
  received: number;
  total?: number;
}

export interface DownloadOptions {
  /** Expected lowercase hex md5 of the whole body; skipped when undefined. */
  md5?: string;
  onProgress?: (p: DownloadProgress) => void;
  /** Name reported to onProgress (default: dest). */
  label?: string;
  maxRedirects?: number;
  /** Abort when no data arrives for this long (default 60 s). */
  idleTimeoutMs?: number;
}

export class DownloadError extends Error {
  readonly url: string;
  constructor(url: string, message: string) {
    super(message);
    this.name = 'DownloadError';
    this.url = url;
  }
}

function get(url: string, idleTimeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new DownloadError(url, `invalid URL ${url}`));
      return;
    }
    const mod = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (!mod) {
      reject(new DownloadError(url, `unsupported protocol in ${url}`));
      return;
    }
    const req = mod.get(parsed, { headers: { 'user-agent': 'contsup-dataset-loader' } }, resolve);
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no data for ${idleTimeoutMs / 1000} s`)));
    req.on('error', (err: Error) => reject(new DownloadError(url, `cannot download ${url}: ${err.message}`)));
  });
}

async function openFollowingRedirects(url: string, maxRedirects: number, idleTimeoutMs: number): Promise<{ res: IncomingMessage; finalUrl: string }> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await get(current, idleTimeoutMs);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume(); // discard the redirect body so the socket is freed
      if (hop >= maxRedirects) throw new DownloadError(url, `cannot download ${url}: more than ${maxRedirects} redirects`);
      current = new URL(res.headers.location, current).toString();
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new DownloadError(url, `cannot download ${current}: HTTP ${status} ${res.statusMessage ?? ''}`.trim());
    }
    return { res, finalUrl: current };
  }
}

/** Downloads `url` to `dest` (creating its folder); see the module comment for guarantees. */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const part = `${dest}.part`;
  const label = opts.label ?? dest;
  await mkdir(dirname(dest), { recursive: true });
  try {
    const { res, finalUrl } = await openFollowingRedirects(url, opts.maxRedirects ?? 5, opts.idleTimeoutMs ?? 60_000);
    const declared = res.headers['content-length'];
    const total = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
    const hash = createHash('md5');
    let received = 0;
    const out = createWriteStream(part);
    try {
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const fail = (err: Error): void => {
          if (settled) return;
          settled = true;
          res.destroy();
          out.destroy();
          reject(err);
        };
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          hash.update(chunk);
          if (!out.write(chunk)) {
            res.pause();
            out.once('drain', () => res.resume());
          }
          opts.onProgress?.({ file: label, received, total });
        });
        res.on('error', (err: Error) => fail(new DownloadError(url, `download of ${finalUrl} failed after ${received} bytes: ${err.message}`)));
        res.on('aborted', () => fail(new DownloadError(url, `download of ${finalUrl} was cut off after ${received} bytes`)));
        res.on('close', () => {
          if (!res.complete) fail(new DownloadError(url, `download of ${finalUrl} was cut off after ${received}${total !== undefined ? ` of ${total}` : ''} bytes`));
        });
        res.on('end', () => {
          if (settled) return;
          if (total !== undefined && received !== total) {
            fail(new DownloadError(url, `download of ${finalUrl} was cut off: got ${received} of ${total} bytes`));
            return;
          }
          out.end(() => {
            if (settled) return;
            settled = true;
            resolve();
          });
        });
        out.on('error', (err: Error) => fail(new DownloadError(url, `cannot write ${part}: ${err.message}`)));
      });
    } finally {
      // Make sure the fd is released before the .part is renamed or removed.
      if (!out.closed) await new Promise<void>((r) => out.close(() => r()));
    }
    const digest = hash.digest('hex');
    if (opts.md5 !== undefined && digest !== opts.md5.toLowerCase()) {
      throw new DownloadError(url, `checksum mismatch for ${finalUrl}: expected md5 ${opts.md5}, got ${digest} (${received} bytes); the file was discarded`);
    }
    await rename(part, dest);
  } catch (err: unknown) {
    await rm(part, { force: true });
    throw err;
  }
}

/** md5 of a file on disk, streamed (archives can be gigabytes). */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

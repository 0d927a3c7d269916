/**
 * Streaming extractor for gzip'd tar archives (ustar, with GNU long names and
 * pax path records), just enough for the CIFAR-10 and STL-10 tarballs. It
 * streams so STL-10's 2.6 GB archive never sits in memory, and it writes only
 * the requested members (each via `<dest>.part`, renamed when complete).
 */
import { createReadStream, openSync, writeSync, closeSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

const BLOCK = 512;

export class TarError extends Error {
  constructor(archive: string, problem: string) {
    super(`${archive}: ${problem}. Delete it and rerun to download again, or replace it.`);
    this.name = 'TarError';
  }
}

function cString(b: Buffer, start: number, len: number): string {
  const end = b.indexOf(0, start);
  return b.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

function parseSize(h: Buffer): number {
  // GNU base-256 for members >= 8 GiB: high bit of the first byte set.
  if (h[124] & 0x80) {
    let n = 0;
    for (let i = 125; i < 136; i++) n = n * 256 + h[i];
    return n;
  }
  const s = cString(h, 124, 12).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = parseInt(cString(h, 148, 8).trim(), 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return sum === stored;
}

/** Extracts `members` (archive path -> destination path) from a .tar.gz; throws if any is missing. */
export async function extractTarGz(archive: string, members: Record<string, string>): Promise<void> {
  const pending = new Map(Object.entries(members).map(([k, v]) => [k.replace(/^\.\//, ''), v]));
  let buf: Buffer = Buffer.alloc(0);
  // Current entry state.
  let remaining = 0; // data bytes left in the current entry
  let padding = 0; // padding bytes after it
  let fd: number | undefined;
  let fdDest = '';
  let collect: Buffer[] | undefined; // for pax/GNU long-name records
  let collectType = '';
  let nextName: string | undefined;
  let done = false;

  const finishEntry = async (): Promise<void> => {
    if (fd !== undefined) {
      closeSync(fd);
      fd = undefined;
      await rename(`${fdDest}.part`, fdDest);
    }
    if (collect) {
      const data = Buffer.concat(collect).toString('utf8');
      if (collectType === 'L') nextName = data.replace(/\0.*$/s, '');
      else {
        const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data);
        if (m) nextName = m[1];
      }
      collect = undefined;
    }
  };

  try {
    const stream = createReadStream(archive).pipe(createGunzip());
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let off = 0;
      while (!done) {
        if (remaining > 0) {
          const n = Math.min(remaining, buf.length - off);
          if (n === 0) break;
          const piece = buf.subarray(off, off + n);
          if (fd !== undefined) writeSync(fd, piece);
          else if (collect) collect.push(Buffer.from(piece));
          remaining -= n;
          off += n;
          if (remaining === 0) await finishEntry();
          continue;
        }
        if (padding > 0) {
          const n = Math.min(padding, buf.length - off);
          if (n === 0) break;
          padding -= n;
          off += n;
          continue;
        }
        if (buf.length - off < BLOCK) break;
        const h = buf.subarray(off, off + BLOCK);
        off += BLOCK;
        if (h.every((b) => b === 0)) {
          done = true; // end-of-archive marker
          break;
        }
        if (!checksumOk(h)) throw new TarError(archive, 'corrupt tar header (checksum mismatch)');
        const type = String.fromCharCode(h[156] || 0x30);
        const prefix = h.toString('latin1', 257, 263).startsWith('ustar') ? cString(h, 345, 155) : '';
        const headerName = prefix ? `${prefix}/${cString(h, 0, 100)}` : cString(h, 0, 100);
        const name = (nextName ?? headerName).replace(/^\.\//, '');
        const size = parseSize(h);
        remaining = size;
        padding = (BLOCK - (size % BLOCK)) % BLOCK;
        if (type === 'L' || type === 'x') {
          collect = [];
          collectType = type;
        } else {
          nextName = undefined;
          const dest = type === '0' || type === '\0' || type === '7' ? pending.get(name) : undefined;
          if (dest !== undefined) {
            pending.delete(name);
            fdDest = dest;
            fd = openSync(`${dest}.part`, 'w');
          }
        }
        if (size === 0) await finishEntry();
      }
      buf = buf.subarray(off);
      if (done) break;
    }
    if (remaining > 0) throw new TarError(archive, `archive ends in the middle of a member (${remaining} bytes missing)`);
    if (pending.size > 0) throw new TarError(archive, `archive lacks ${[...pending.keys()].join(', ')}`);
  } catch (err: unknown) {
    if (fd !== undefined) closeSync(fd);
    await rm(`${fdDest}.part`, { force: true });
    if (err instanceof TarError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new TarError(archive, `cannot extract (${msg})`);
  }
}

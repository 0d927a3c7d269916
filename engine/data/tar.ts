/**
 * Extracts chosen members of a gzip'd tar archive (the CIFAR-10 and STL-10
 * tarballs) with npm's own `tar` parser. It streams, so STL-10's 2.6 GB
 * archive never sits in memory, and writes only the requested members, each
 * via `<dest>.part`, renamed when complete; a failed run leaves no part file.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Parser, type ReadEntry } from 'tar';

export class TarError extends Error {
  constructor(archive: string, problem: string, options?: { cause?: unknown }) {
    super(`${archive}: ${problem}. Delete it and rerun to download again, or replace it.`, options);
    this.name = 'TarError';
  }
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

const strip = (p: string): string => p.replace(/^\.\//, '');

/** Extracts `members` (archive path -> destination path) from a .tar.gz; throws TarError if any is missing. */
export async function extractTarGz(archive: string, members: Record<string, string>): Promise<void> {
  const pending = new Map(Object.entries(members).map(([k, v]) => [strip(k), v]));
  const open = new Map<string, WriteStream>();
  const written: Array<Promise<void>> = [];
  try {
    await new Promise<void>((resolve, reject) => {
      // strict: a bad header checksum or a truncated archive is an error, not a warning.
      const parser = new Parser({
        strict: true,
        onReadEntry: (entry: ReadEntry) => {
          const dest = FILE_TYPES.has(entry.type) ? pending.get(strip(entry.path)) : undefined;
          if (dest === undefined) {
            entry.resume();
            return;
          }
          pending.delete(strip(entry.path));
          const part = `${dest}.part`;
          const out = createWriteStream(part);
          open.set(part, out);
          const member = new Promise<void>((done, fail) => {
            out.on('error', fail);
            out.on('close', () => {
              open.delete(part);
              done();
            });
            entry.pipe(out);
          }).then(() => rename(part, dest));
          // Awaited below on success; after a failure its stream is destroyed and only the part file matters.
          member.catch(() => undefined);
          written.push(member);
        },
      });
      parser.on('error', reject);
      parser.on('close', resolve);
      const input = createReadStream(archive);
      input.on('error', reject);
      input.pipe(parser);
    });
    await Promise.all(written);
    if (pending.size > 0) throw new TarError(archive, `archive lacks ${[...pending.keys()].join(', ')}`);
  } catch (err: unknown) {
    for (const [part, out] of open) {
      out.destroy();
      if (!out.closed) await new Promise<void>((r) => out.once('close', () => r()));
      await rm(part, { force: true });
    }
    if (err instanceof TarError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new TarError(archive, `cannot extract (${msg})`, { cause: err });
  }
}

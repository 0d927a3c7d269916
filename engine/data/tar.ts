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
  // Part files are renamed only once the whole archive has parsed: a member can be
  // complete before the parser reports that the archive behind it is truncated.
  const parts = new Map<string, string>();
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
          parts.set(part, dest);
          const member = new Promise<void>((done, fail) => {
            out.on('error', fail);
            out.on('close', () => {
              open.delete(part);
              done();
            });
            entry.pipe(out);
          });
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
    for (const [part, dest] of parts) await rename(part, dest);
  } catch (err: unknown) {
    for (const out of open.values()) {
      out.destroy();
      if (!out.closed) await new Promise<void>((r) => out.once('close', () => r()));
    }
    for (const part of parts.keys()) await rm(part, { force: true });
    if (err instanceof TarError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new TarError(archive, `cannot extract (${msg})`, { cause: err });
  }
}

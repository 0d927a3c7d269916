import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { FOLDER_DATASET_PREFIX, isFolderDataset } from '../protocol/names.js';

function bounds(min: number, max: number): string {
  if (min > -Infinity && max < Infinity) return ` ${min}..${max}`;
  if (min > -Infinity) return ` >= ${min}`;
  if (max < Infinity) return ` <= ${max}`;
  return '';
}

/**
 * Commander parser for an integer option, e.g. `int('--port', 0, 65535)`:
 * refuses "3.5", "x" or an out-of-range value naming the option and the range.
 * Job-spec fields are given without bounds: parseJobSpec checks their range.
 */
export function int(name: string, min = -Infinity, max = Infinity): (v: string) => number {
  return (v) => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer${bounds(min, max)}, got "${v}"`);
    return n;
  };
}

/** Commander parser for a finite number option; parseJobSpec checks the range of job-spec fields. */
export function num(name: string): (v: string) => number {
  return (v) => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
    return n;
  };
}

/**
 * `--dataset`: a built-in name as given, or `folder:PATH` with PATH made
 * absolute (job specs take only absolute folders; the shell's working
 * directory is what a relative path means here).
 */
export function datasetArg(v: string): string {
  return isFolderDataset(v) ? `${FOLDER_DATASET_PREFIX}${resolve(v.slice(FOLDER_DATASET_PREFIX.length))}` : v;
}

/**
 * The one error every reader throws for a file that is missing, truncated or
 * not in the expected format. The message always starts with the file path and
 * says what was expected and what was found, so the user knows which file to
 * delete or replace.
 */
export class DatasetFileError extends Error {
  readonly file: string;

  constructor(file: string, problem: string, hint = 'Delete it and rerun to download again, or replace it.') {
    super(`${file}: ${problem}.${hint ? ` ${hint}` : ''}`);
    this.name = 'DatasetFileError';
    this.file = file;
  }
}

/** Human-readable byte count with the exact number, e.g. "7840016 bytes". */
export function bytes(n: number): string {
  return `${n} bytes`;
}

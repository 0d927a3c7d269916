import type { z } from 'zod';
import { ProtocolError, type ProtocolErrorCode } from './errors.js';

// Values are echoed in messages to help the sender, but a message must stay
// one readable line even when the offending value is a megabyte of tensor.
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  return `a ${typeof value}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  const at = path === '' ? '' : `${path}: `;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${at}unknown field(s) ${issue.keys.map((k) => (path === '' ? k : `${path}.${k}`)).join(', ')}; remove them`;
    case 'invalid_value':
      if (issue.input === undefined && path !== '') return `${path}: missing; allowed: ${issue.values.map((v) => String(v)).join(', ')}`;
      return `${at}got ${describeValue(issue.input)}; allowed: ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_type':
      if (issue.input === undefined && path !== '') return `${path}: missing (expected ${issue.expected})`;
      return `${at}expected ${issue.expected}, got ${describeValue(issue.input)}`;
    case 'too_small':
    case 'too_big': {
      const op = issue.code === 'too_small' ? (issue.inclusive === false ? '>' : '>=') : issue.inclusive === false ? '<' : '<=';
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const what = issue.origin === 'array' || issue.origin === 'set' ? 'length' : issue.origin === 'string' ? 'length' : 'value';
      return `${at}${what} must be ${op} ${String(bound)} (got ${describeValue(issue.input)})`;
    }
    default:
      return `${at}${issue.message}${issue.input !== undefined && issue.code !== 'custom' ? ` (got ${describeValue(issue.input)})` : ''}`;
  }
}

/** All problems of a failed parse, one clause each, e.g. `model: got "resnet99"; allowed: resnet20, ...`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map(formatIssue).join('; ');
}

/**
 * Parses or throws ProtocolError(`code`) naming `what` and every bad field.
 * Never coerces: the schemas have no transforms besides REST defaults.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  payload: unknown,
  what: string,
  code: ProtocolErrorCode = 'bad-schema',
): z.output<S> {
  const result = schema.safeParse(payload, { reportInput: true });
  if (result.success) return result.data;
  throw new ProtocolError(code, `${what}: ${formatIssues(result.error.issues)}`);
}

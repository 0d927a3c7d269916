import type { ArgumentsHost } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../protocol/index.js';
import { DomainErrorFilter } from '../../../server/common/domain-error.filter.js';
import { ConflictError, NotFoundError } from '../../../server/common/errors.js';
import { tokensMatch } from '../../../server/common/token.js';

/** Runs the filter on `err` with a response that records what it is told. */
function answer(err: ProtocolError | NotFoundError | ConflictError): { status: number; body: unknown } {
  const out = { status: 0, body: undefined as unknown };
  const res = {
    status(code: number) {
      out.status = code;
      return { json: (body: unknown) => void (out.body = body) };
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  new DomainErrorFilter().catch(err, host);
  return out;
}

describe('tokensMatch', () => {
  it('accepts the same token and refuses another, whatever its length', () => {
    expect(tokensMatch('join-secret', 'join-secret')).toBe(true);
    expect(tokensMatch('join-secreT', 'join-secret')).toBe(false);
    expect(tokensMatch('j', 'join-secret')).toBe(false);
    expect(tokensMatch('', 'join-secret')).toBe(false);
  });
});

describe('DomainErrorFilter', () => {
  it('answers bad input 400 with the protocol code as error', () => {
    expect(answer(new ProtocolError('bad-schema', 'POST /api/jobs: model must be one of ...'))).toEqual({
      status: 400,
      body: { statusCode: 400, error: 'bad-schema', message: 'POST /api/jobs: model must be one of ...' },
    });
  });

  it('answers a missing job 404 and a refused state change 409, with the message', () => {
    expect(answer(new NotFoundError('job x does not exist'))).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'job x does not exist' } });
    expect(answer(new ConflictError('job x is done already'))).toEqual({ status: 409, body: { statusCode: 409, error: 'Conflict', message: 'job x is done already' } });
  });
});

import { BadRequestException, Catch, ConflictException, NotFoundException, type ArgumentsHost, type ExceptionFilter, type HttpException } from '@nestjs/common';
import { ProtocolError } from '../../protocol/index.js';
import { ConflictError, NotFoundError } from './errors.js';

type DomainError = ProtocolError | NotFoundError | ConflictError;

/** The HTTP answer of a domain error: bad input 400 (with the protocol's code), not found 404, conflict 409. */
export function httpErrorOf(err: DomainError): HttpException {
  if (err instanceof ProtocolError) return new BadRequestException({ statusCode: 400, error: err.code, message: err.message });
  if (err instanceof NotFoundError) return new NotFoundException(err.message);
  return new ConflictException(err.message);
}

interface JsonResponse {
  status(code: number): { json(body: unknown): unknown };
}

/**
 * Maps the errors services throw to HTTP answers, so controllers only
 * delegate. Anything else (guards' HttpExceptions, bugs) is left to Nest.
 */
@Catch(ProtocolError, NotFoundError, ConflictError)
export class DomainErrorFilter implements ExceptionFilter<DomainError> {
  catch(err: DomainError, host: ArgumentsHost): void {
    const answer = httpErrorOf(err);
    host.switchToHttp().getResponse<JsonResponse>().status(answer.getStatus()).json(answer.getResponse());
  }
}

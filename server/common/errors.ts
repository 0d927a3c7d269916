/**
 * The coordinator's domain errors, thrown by services and turned into HTTP
 * answers by DomainErrorFilter (bad input is protocol/'s ProtocolError).
 * Messages name the fix, since they reach the user verbatim.
 */

/** The request names something (a job) that does not exist: 404. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** The request is well formed but the current state does not allow it: 409. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

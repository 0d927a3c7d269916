import type { IncomingMessage, ServerResponse } from 'node:http';

const MUTATIONS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether the request carries a body at all (a bodyless POST such as /stop has neither header). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType.trim());
}

/**
 * REST mutations with a body must send it as JSON: any other Content-Type,
 * or none, gets 415 instead of being parsed as nothing (which used to create
 * a job with every default). Mounted under /api before Nest's body parser
 * results are used.
 */
export function requireJsonBody(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  if (!MUTATIONS.has(req.method ?? '') || !hasBody(req) || isJson(req.headers['content-type'])) {
    next();
    return;
  }
  const got = req.headers['content-type'];
  res.statusCode = 415;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(
    JSON.stringify({
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: `${req.method ?? 'this'} ${(req as { originalUrl?: string }).originalUrl ?? req.url ?? ''} needs a JSON body: send the header "Content-Type: application/json" (got ${got === undefined ? 'no Content-Type' : JSON.stringify(got)})`,
    }),
  );
}

import type { ErrorRequestHandler, Request, Response } from 'express';
import { RangeInvalidError, asRegistryError } from '@berth/registry';
import type { Logger } from '@berth/logging';
import { ApiError, ERROR_TABLE, errorEnvelope, type ErrorCode } from './errors';

/** Error codes (also on `cause`) that mean the peer went away. */
const ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && ABORT_CODES.has(code)) return code;
  }
  return undefined;
}

/** True when the client disconnected before the exchange finished (it gets no answer: logged as 499). */
export function clientGone(req: Request, res: Response): boolean {
  const requestCut = !req.complete && (req.destroyed || req.socket?.destroyed === true);
  const responseCut = res.destroyed || (res.socket?.destroyed ?? false);
  return requestCut || responseCut;
}

interface Classified {
  code: ErrorCode;
  message: string;
  detail?: unknown;
  headers: Record<string, string>;
  /** The storage failed (mapped from a storage error, not raised by the registry itself). */
  storage?: boolean;
}

function classify(error: unknown): Classified {
  const domain = asRegistryError(error);
  if (domain) {
    const headers: Record<string, string> = {};
    if (domain instanceof RangeInvalidError && domain.sizes.resourceSize !== undefined) {
      headers['Content-Range'] = `bytes */${domain.sizes.resourceSize}`;
    }
    return { code: domain.code, message: domain.message, detail: domain.detail, headers, storage: domain !== error };
  }
  if (error instanceof ApiError) return { code: error.code, message: error.message, detail: error.detail, headers: { ...error.headers } };
  return { code: 'UNKNOWN', message: 'internal server error', headers: {} };
}

/**
 * THE error middleware: writes `{"errors":[{code,message,detail}]}` with the status of
 * `ERROR_TABLE`. Client mistakes are domain errors (4xx); a storage that cannot answer is UNAVAILABLE
 * (503, `asRegistryError`), logged at warn; anything else is UNKNOWN/500 and logged
 * with its stack. A client that went away gets nothing; that is logged at info as 499 by the access
 * log and here only when the error is not an ordinary disconnect.
 */
export function errorMiddleware(rootLogger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const logger: Logger = (res.locals.logger as Logger | undefined) ?? rootLogger;
    if (clientGone(req, res)) {
      res.locals.aborted = true;
      if (!errorCode(error)) logger.warn('request failed after the client went away', { error: String(error) });
      if (!res.destroyed) res.destroy();
      return;
    }
    const { code, message, detail, headers, storage } = classify(error);
    if (code === 'UNKNOWN') {
      const err = error instanceof Error ? error : new Error(String(error));
      logger.error('request failed', { error: err.message, stack: err.stack, method: req.method, path: req.path });
    } else if (storage) {
      logger.warn('request failed: the storage is unavailable', { error: message, method: req.method, path: req.path });
    } else {
      logger.debug('request refused', { code, message });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = Buffer.from(JSON.stringify(errorEnvelope(code, message, detail)));
    res.status(ERROR_TABLE[code].status).set(headers);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Content-Length', String(body.length));
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

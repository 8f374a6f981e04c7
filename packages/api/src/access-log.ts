import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '@berth/storage-driver';

/**
 * Gives each request a child logger (`requestId`) in `res.locals.logger` and logs one line per
 * request at info when it closes: status 499 when the client went away before the response ended.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const requestId = randomUUID();
    const requestLogger = logger.child({ requestId });
    res.locals.logger = requestLogger;
    res.locals.requestId = requestId;
    res.once('close', () => {
      const status = res.writableFinished && !res.locals.aborted ? res.statusCode : 499;
      requestLogger.info('request', {
        method: req.method,
        path: req.path,
        status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        contentLength: req.headers['content-length'],
        userAgent: req.headers['user-agent'],
      });
    });
    next();
  };
}

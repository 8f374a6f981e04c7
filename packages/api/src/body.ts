import type { IncomingMessage } from 'node:http';
import { ManifestTooLargeError } from '@berth/registry';

/** True when the request carries a body (a positive Content-Length, or chunked transfer coding). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length'] ?? 0);
  return Number.isFinite(length) && length > 0;
}

/** The declared Content-Length, or undefined when absent or not a number. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * A signal aborted when the client goes away before the request's body ended (its reason carries
 * `ECONNABORTED`, an ordinary disconnect for the error middleware): an upload waiting for its
 * session stops there, one streaming is cut and its storage writer closed.
 */
export function clientGoneSignal(req: IncomingMessage): AbortSignal {
  const controller = new AbortController();
  const check = (): void => {
    if (req.complete) return;
    controller.abort(Object.assign(new Error('the client went away before the request body ended'), { code: 'ECONNABORTED' }));
  };
  if (req.destroyed) check();
  else req.once('close', check);
  return controller.signal;
}

/**
 * Reads a small body (a manifest) whole, refusing more than `limit` bytes with
 * `ManifestTooLargeError` as soon as the limit is passed (or at once, from Content-Length). The rest
 * of an oversized body is drained, not buffered.
 */
export function readLimitedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) {
    req.resume();
    return Promise.reject(new ManifestTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      total += chunk.length;
      if (total > limit) {
        tooLarge = true;
        chunks.length = 0;
        reject(new ManifestTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks, total));
    });
    req.once('error', (error) => {
      if (!tooLarge) reject(error);
    });
  });
}

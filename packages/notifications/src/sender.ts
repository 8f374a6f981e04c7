import { request } from 'undici';
import { EVENTS_MEDIA_TYPE } from './wire';

/** How one delivery attempt ended. */
export type SendResult = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly status?: number; readonly error: string };

/**
 * POSTs one envelope. Any 2xx or 3xx answer counts as delivered (redirects are not followed), as
 * in distribution; another status, a network error or going past `timeoutMs` (connect, headers
 * and body together) is a failure. `abort` cuts the attempt short (shutdown). Never throws.
 */
export async function postEnvelope(
  url: string,
  headers: Readonly<Record<string, readonly string[]>>,
  body: string,
  timeoutMs: number,
  abort: AbortSignal,
): Promise<SendResult> {
  const outgoing: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(headers)) outgoing[name] = [...values];
  // distribution sets the envelope type over any configured Content-Type.
  for (const name of Object.keys(outgoing)) if (name.toLowerCase() === 'content-type') delete outgoing[name];
  outgoing['content-type'] = EVENTS_MEDIA_TYPE;
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), abort]);
  try {
    const response = await request(url, { method: 'POST', headers: outgoing, body, signal });
    await response.body.dump({ limit: 64 * 1024, signal });
    if (response.statusCode >= 200 && response.statusCode < 400) return { ok: true, status: response.statusCode };
    return { ok: false, status: response.statusCode, error: `status ${response.statusCode}` };
  } catch (error) {
    if (signal.aborted && !abort.aborted) return { ok: false, error: `timed out after ${timeoutMs} ms` };
    return { ok: false, error: describe(error) };
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: unknown }).cause;
  const code = (error as NodeJS.ErrnoException).code ?? (cause as NodeJS.ErrnoException | undefined)?.code;
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

/**
 * Raw blob-upload requests (OCI distribution-spec "chunked upload"), so a test can send each step
 * of one upload to a different registry process: the Location a process returns is replayed, path
 * and query (with its signed `_state`), against another process's base URL.
 */

/** `location` (absolute or relative, as returned by `base`'s server) moved onto `otherBase`. */
export function relocate(location: string, base: string, otherBase: string): string {
  const url = new URL(location, base);
  return new URL(url.pathname + url.search, otherBase).toString();
}

async function expectStatus(response: Response, status: number, step: string): Promise<Response> {
  if (response.status !== status) throw new Error(`${step}: expected ${status}, got ${response.status} ${await response.text()}`);
  return response;
}

/** POST /v2/<name>/blobs/uploads/ → the absolute upload URL. */
export async function startUpload(base: string, repository: string): Promise<string> {
  const response = await expectStatus(await fetch(`${base}/v2/${repository}/blobs/uploads/`, { method: 'POST' }), 202, 'POST upload');
  return new URL(response.headers.get('location')!, base).toString();
}

/** PATCH one chunk at `start` → the absolute URL for the next step (on the same server). */
export async function patchChunk(uploadUrl: string, chunk: Buffer, start: number): Promise<string> {
  const response = await expectStatus(
    await fetch(uploadUrl, {
      method: 'PATCH',
      // fetch sends Content-Length from the Buffer itself. Set by hand, it is refused ("invalid
      // content-length header") once npm's undici has become the global dispatcher of the process
      // (jest running in band loads it through testcontainers in the global setup).
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${start}-${start + chunk.length - 1}`,
      },
      body: chunk,
    }),
    202,
    `PATCH ${start}-${start + chunk.length - 1}`,
  );
  expect(response.headers.get('range')).toBe(`0-${start + chunk.length - 1}`);
  return new URL(response.headers.get('location')!, uploadUrl).toString();
}

/** PUT ?digest= to finish an upload; the response is returned as is. */
export function finishUpload(uploadUrl: string, digest: string): Promise<Response> {
  const url = new URL(uploadUrl);
  url.searchParams.set('digest', digest);
  // A PUT without a body goes out with Content-Length: 0 (fetch standard); see patchChunk.
  return fetch(url, { method: 'PUT' });
}

/** The OCI error codes of an error response body. */
export async function errorCodes(response: Response): Promise<string[]> {
  const body = (await response.json()) as { errors?: { code: string }[] };
  return (body.errors ?? []).map((e) => e.code);
}

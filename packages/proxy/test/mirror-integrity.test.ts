import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { Digest } from '@berth/registry';
import { call, eventually, makeImage, pushImage, OCI_MANIFEST, type TestImage } from './support/images';
import { berthApp, listen, startMirror, type RunningMirror, type RunningServer } from './support/servers';
import { blobState, exists, uploadSessions } from './support/storage';

type Front = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * An upstream Berth behind a front that may answer a request itself (`front` returns true when it
 * did): how the cache behaves when the upstream lies, fails half-way, or the client goes away.
 */
describe('a pull-through cache stores only verified, complete content', () => {
  let front: Front;
  let upstream: RunningServer;
  let mirror: RunningMirror;
  let image: TestImage;
  const name = 'integrity/app';

  beforeEach(async () => {
    front = () => false;
    const app = berthApp(createInMemoryDriver());
    upstream = await listen((req, res) => {
      if (!front(req, res)) app(req, res);
    });
    mirror = await startMirror(upstream.url);
    image = makeImage([2 * 1024 * 1024]);
    await pushImage(upstream.url, name, 'v1', image);
  });

  afterEach(async () => {
    await mirror.stop();
    await upstream.stop();
  });

  const layer = (): { digest: string; bytes: Buffer } => image.layers[0]!;
  const blobUrl = (digest: string): string => `${mirror.url}/v2/${name}/blobs/${digest}`;

  /** GETs with node:http and reports how the body ended: complete, or cut (with the bytes received). */
  function fetchRaw(url: string, abortAfter?: number): Promise<{ status: number; received: number; complete: boolean; hash: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, (res) => {
        const hash = createHash('sha256');
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          received += chunk.length;
          if (abortAfter !== undefined && received >= abortAfter) req.destroy();
        });
        let settled = false;
        const done = (complete: boolean): void => {
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, received, complete, hash: `sha256:${hash.digest('hex')}` });
        };
        res.on('end', () => done(res.complete));
        res.on('aborted', () => done(false));
        res.on('error', () => done(false));
        res.on('close', () => done(res.complete));
      });
      req.on('error', (error) => (abortAfter !== undefined ? undefined : reject(error)));
      req.end();
    });
  }

  async function expectNothingCached(): Promise<void> {
    await eventually(() => mirror.cache.blobFetchesInFlight === 0, 60_000, 'the fetch to finish');
    expect(await blobState(mirror.driver, name, layer().digest)).toEqual({ data: false, link: false });
    await eventually(async () => (await uploadSessions(mirror.driver, name)).length === 0, 60_000, 'the upload session to be removed');
  }

  it('does not commit a blob whose bytes do not match its digest, and never delivers it complete', async () => {
    front = (req, res) => {
      if (req.method !== 'GET' || !req.url?.endsWith(layer().digest)) return false;
      const corrupt = Buffer.from(layer().bytes);
      corrupt[corrupt.length - 1] ^= 0xff;
      res.writeHead(200, { 'content-length': String(corrupt.length), 'content-type': 'application/octet-stream' });
      res.end(corrupt);
      return true;
    };
    const result = await fetchRaw(blobUrl(layer().digest));
    expect(result.status).toBe(200);
    expect(result.complete).toBe(false);
    expect(result.received).toBeLessThan(layer().bytes.length);
    await expectNothingCached();

    front = () => false;
    const again = await call('GET', blobUrl(layer().digest));
    expect(again.body.equals(layer().bytes)).toBe(true);
    expect(await blobState(mirror.driver, name, layer().digest)).toEqual({ data: true, link: true });
  });

  it('does not commit a blob shorter than the upstream announced when the upstream cuts the body', async () => {
    front = (req, res) => {
      if (req.method !== 'GET' || !req.url?.endsWith(layer().digest)) return false;
      res.writeHead(200, { 'content-length': String(layer().bytes.length) });
      res.write(layer().bytes.subarray(0, 1024 * 1024), () => res.destroy());
      return true;
    };
    const result = await fetchRaw(blobUrl(layer().digest));
    expect(result.complete).toBe(false);
    await expectNothingCached();
  });

  it('does not commit when the client goes away mid-stream; the next request fetches the blob again', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    front = (req, res) => {
      if (req.method !== 'GET' || !req.url?.endsWith(layer().digest)) return false;
      res.writeHead(200, { 'content-length': String(layer().bytes.length) });
      res.write(layer().bytes.subarray(0, 256 * 1024));
      void gate.then(() => res.end(layer().bytes.subarray(256 * 1024)));
      return true;
    };
    const result = await fetchRaw(blobUrl(layer().digest), 1);
    expect(result.complete).toBe(false);
    release();
    await expectNothingCached();

    front = () => false;
    const again = await call('GET', blobUrl(layer().digest));
    expect(again.body.equals(layer().bytes)).toBe(true);
    expect(upstream.count('GET', `/v2/${name}/blobs/${layer().digest}`)).toBe(2);
  });

  it('refuses a manifest whose content does not match the digest it was asked by (503), storing nothing', async () => {
    const other = makeImage([1]);
    front = (req, res) => {
      if (!req.url?.endsWith(`/manifests/${image.digest}`)) return false;
      res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(other.manifest.length), 'docker-content-digest': image.digest });
      res.end(req.method === 'HEAD' ? undefined : other.manifest);
      return true;
    };
    const response = await call('GET', `${mirror.url}/v2/${name}/manifests/${image.digest}`);
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body.toString()).errors[0].message).toMatch(/does not match/);
    expect(await exists(mirror.driver, { kind: 'revisionLink', name, digest: Digest.parse(image.digest) })).toBe(false);
    expect(await exists(mirror.driver, { kind: 'blobData', digest: Digest.parse(other.digest) })).toBe(false);
  });

  it('refuses a tag whose manifest does not match the Docker-Content-Digest the upstream sent with it', async () => {
    const other = makeImage([1]);
    front = (req, res) => {
      if (!req.url?.endsWith('/manifests/v1')) return false;
      const headers = { 'content-type': OCI_MANIFEST, 'content-length': String(other.manifest.length), 'docker-content-digest': image.digest };
      res.writeHead(200, req.method === 'HEAD' ? { ...headers, 'docker-content-digest': 'not-a-digest' } : headers);
      res.end(req.method === 'HEAD' ? undefined : other.manifest);
      return true;
    };
    const response = await call('GET', `${mirror.url}/v2/${name}/manifests/v1`);
    expect(response.status).toBe(503);
    expect(await exists(mirror.driver, { kind: 'tagCurrentLink', name, tag: 'v1' })).toBe(false);
  });
});

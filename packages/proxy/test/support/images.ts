import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export const sha256 = (content: Buffer | string): string => `sha256:${createHash('sha256').update(content).digest('hex')}`;

/** An image manifest, its config and layers (random bytes), with every blob by digest. */
export interface TestImage {
  readonly manifest: Buffer;
  readonly digest: string;
  readonly config: { readonly digest: string; readonly bytes: Buffer };
  readonly layers: readonly { readonly digest: string; readonly bytes: Buffer }[];
  /** Config and layers by digest. */
  readonly blobs: ReadonlyMap<string, Buffer>;
}

/** A fresh image with random layers of the given sizes (a label makes its config unique). */
export function makeImage(layerSizes: readonly number[], label = randomBytes(8).toString('hex')): TestImage {
  const layers = layerSizes.map((size) => {
    const bytes = randomBytes(size);
    return { digest: sha256(bytes), bytes };
  });
  const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { label } }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
  const config = { digest: sha256(configBytes), bytes: configBytes };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: configBytes.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.bytes.length })),
    }),
  );
  const blobs = new Map<string, Buffer>([[config.digest, configBytes], ...layers.map((l): [string, Buffer] => [l.digest, l.bytes])]);
  return { manifest, digest: sha256(manifest), config, layers, blobs };
}

/** A response with its whole body. */
export interface Fetched {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** One HTTP request with undici, body read whole. */
export async function call(method: string, url: string, options: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<Fetched> {
  const response = await request(url, { method: method as 'GET', headers: options.headers, body: options.body });
  const body = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body };
}

/** Pushes the image's blobs (monolithic POST) and its manifest under `tag` to a registry. */
export async function pushImage(baseUrl: string, name: string, tag: string, image: TestImage, headers: Record<string, string> = {}): Promise<void> {
  for (const [digest, bytes] of image.blobs) {
    const pushed = await call('POST', `${baseUrl}/v2/${name}/blobs/uploads/?digest=${digest}`, {
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    if (pushed.status !== 201) throw new Error(`push of blob ${digest} answered ${pushed.status}: ${pushed.body.toString()}`);
  }
  const put = await call('PUT', `${baseUrl}/v2/${name}/manifests/${tag}`, { headers: { ...headers, 'content-type': OCI_MANIFEST }, body: image.manifest });
  if (put.status !== 201) throw new Error(`push of manifest ${name}:${tag} answered ${put.status}: ${put.body.toString()}`);
}

/** Waits until `check` holds, polling every 25 ms; fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 60_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

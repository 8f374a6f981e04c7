import { createHash } from 'node:crypto';

/**
 * A small OCI push/pull client over HTTP for the garbage collection tests: it pushes the way docker
 * and skopeo do (HEAD each blob, upload the missing ones, then PUT the manifest) and retries a push
 * the registry refused because a blob went missing, as a user re-running `docker push` would.
 */

export const sha256 = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface TestImage {
  readonly config: Buffer;
  readonly layers: readonly Buffer[];
  readonly manifest: Buffer;
  readonly digest: string;
}

/** An OCI image manifest over `layers` (and a config naming them). */
export function makeImage(layers: readonly Buffer[], label: string): TestImage {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', label }));
  const d = (mediaType: string, bytes: Buffer) => ({ mediaType, digest: sha256(bytes), size: bytes.length });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: d('application/vnd.oci.image.config.v1+json', config),
      layers: layers.map((layer) => d('application/vnd.oci.image.layer.v1.tar+gzip', layer)),
    }),
  );
  return { config, layers, manifest, digest: sha256(manifest) };
}

async function errorCodes(response: Response): Promise<string[]> {
  try {
    return (((await response.json()) as { errors?: { code: string }[] }).errors ?? []).map((e) => e.code);
  } catch {
    return [];
  }
}

/** HEAD the blob; when the repository does not have it, upload it (POST, then a monolithic PUT). */
export async function pushBlob(base: string, repository: string, bytes: Buffer): Promise<'existed' | 'uploaded'> {
  const digest = sha256(bytes);
  const head = await fetch(`${base}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return 'existed';
  const post = await fetch(`${base}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  if (post.status !== 202) throw new Error(`POST upload: ${post.status} ${await post.text()}`);
  const url = new URL(post.headers.get('location')!, base);
  url.searchParams.set('digest', digest);
  const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  if (put.status !== 201) throw new Error(`PUT upload ${digest}: ${put.status} ${await put.text()}`);
  return 'uploaded';
}

/** PUT the manifest; resolves with the OCI error codes when the registry refused it. */
export async function putManifest(base: string, repository: string, reference: string, manifest: Buffer): Promise<string[]> {
  const response = await fetch(`${base}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (response.status === 201) return [];
  const codes = await errorCodes(response);
  return codes.length > 0 ? codes : [`HTTP ${response.status}`];
}

export interface PushOutcome {
  /** Pushes refused with MANIFEST_BLOB_UNKNOWN / BLOB_UNKNOWN before one succeeded. */
  readonly retries: number;
  /** Blobs the HEAD found in place (not uploaded) on the successful attempt. */
  readonly reused: number;
}

/** Pushes `image` as `repository:tag`, retrying (up to `attempts` times) when a blob went missing meanwhile. */
export async function pushImage(base: string, repository: string, tag: string, image: TestImage, attempts = 50): Promise<PushOutcome> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    let reused = 0;
    const blobs = [image.config, ...image.layers];
    // Four uploads at a time, as docker does (max-concurrent-uploads defaults to 5).
    for (let i = 0; i < blobs.length; i += 4) {
      const results = await Promise.all(blobs.slice(i, i + 4).map((blob) => pushBlob(base, repository, blob)));
      reused += results.filter((r) => r === 'existed').length;
    }
    const codes = await putManifest(base, repository, tag, image.manifest);
    if (codes.length === 0) return { retries: attempt, reused };
    if (!codes.every((code) => code === 'MANIFEST_BLOB_UNKNOWN' || code === 'BLOB_UNKNOWN')) {
      throw new Error(`manifest PUT refused: ${codes.join(', ')}`);
    }
  }
  throw new Error(`push of ${repository}:${tag} still refused after ${attempts} attempts`);
}

/** GETs `repository:reference` and every blob it references; each must come back byte-identical. */
export async function pullImage(base: string, repository: string, reference: string, image: TestImage): Promise<void> {
  const manifest = await fetch(`${base}/v2/${repository}/manifests/${reference}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (manifest.status !== 200) throw new Error(`GET manifest ${repository}:${reference}: ${manifest.status}`);
  if (!Buffer.from(await manifest.arrayBuffer()).equals(image.manifest)) throw new Error('the manifest came back different');
  for (const blob of [image.config, ...image.layers]) {
    const response = await fetch(`${base}/v2/${repository}/blobs/${sha256(blob)}`);
    if (response.status !== 200) throw new Error(`GET blob ${sha256(blob)}: ${response.status}`);
    if (!Buffer.from(await response.arrayBuffer()).equals(blob)) throw new Error(`blob ${sha256(blob)} came back different`);
  }
}

/** DELETE the manifest by digest (needs storage.delete.enabled). */
export async function deleteManifest(base: string, repository: string, digest: string): Promise<void> {
  const response = await fetch(`${base}/v2/${repository}/manifests/${digest}`, { method: 'DELETE' });
  if (response.status !== 202) throw new Error(`DELETE manifest: ${response.status} ${await response.text()}`);
}

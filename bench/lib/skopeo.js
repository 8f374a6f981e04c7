'use strict';
// The image rows: a real OCI image layout (gzip'd tar layers of pseudo-random bytes, a config, a
// manifest) built with node, pushed to a registry and pulled back with skopeo (Debian's package).
const { createHash } = require('node:crypto');
const { createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Readable, Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { createGzip } = require('node:zlib');
const tar = require('tar-stream');
const { blobChunks } = require('./blobdata');
const { run } = require('./processes');

const SKOPEO = '/usr/bin/skopeo';
const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

function hashing() {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  return { stream, result: () => ({ digest: `sha256:${hash.digest('hex')}`, size }) };
}

function blobPath(dir, digest) {
  return join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** Writes one layer: a tar with one file of `size` pseudo-random bytes, gzip level 1. */
async function writeLayer(dir, index, size) {
  const pack = tar.pack();
  const tarHash = hashing();
  const gzHash = hashing();
  const tmp = join(dir, `layer-${index}.tmp`);
  const written = pipeline(pack, tarHash.stream, createGzip({ level: 1 }), gzHash.stream, createWriteStream(tmp));
  const entry = pack.entry({ name: `layer-${index}/data.bin`, size, mode: 0o644, mtime: new Date('2024-01-01T00:00:00Z') });
  await pipeline(Readable.from(blobChunks(`skopeo-layer-${index}`, 0, size), { objectMode: false }), entry);
  pack.finalize();
  await written;
  const gz = gzHash.result();
  renameSync(tmp, blobPath(dir, gz.digest));
  return { descriptor: { mediaType: MEDIA.layer, digest: gz.digest, size: gz.size }, diffId: tarHash.result().digest };
}

function writeJson(dir, value, mediaType) {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  writeFileSync(blobPath(dir, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** Builds an OCI layout in `dir` with one image tagged `latest` whose layers have `layerSizes` bytes of content. */
async function buildLayout(dir, layerSizes) {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const layers = [];
  for (const [i, size] of layerSizes.entries()) layers.push(await writeLayer(dir, i, size));
  const config = writeJson(
    dir,
    {
      created: '2024-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `benchmark layer ${i}` })),
    },
    MEDIA.config,
  );
  const manifest = writeJson(dir, { schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: layers.map((l) => l.descriptor) }, MEDIA.manifest);
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }),
  );
  return { dir, bytes: layers.reduce((sum, l) => sum + l.descriptor.size, 0) };
}

async function timed(args) {
  const started = process.hrtime.bigint();
  await run(SKOPEO, ['--insecure-policy', ...args], { timeoutMs: 600_000 });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** `skopeo copy` of the layout's `latest` to `hostPort/repo:latest`; resolves with seconds. */
function skopeoPush(layoutDir, hostPort, repo) {
  return timed(['copy', '--quiet', '--dest-tls-verify=false', `oci:${layoutDir}:latest`, `docker://${hostPort}/${repo}:latest`]);
}

/** `skopeo copy` of `hostPort/repo:latest` into a new layout at `outDir` (removed after); resolves with seconds. */
async function skopeoPull(hostPort, repo, outDir) {
  try {
    return await timed(['copy', '--quiet', '--src-tls-verify=false', `docker://${hostPort}/${repo}:latest`, `oci:${outDir}:latest`]);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

module.exports = { buildLayout, skopeoPull, skopeoPush };

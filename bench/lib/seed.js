'use strict';
// Registry content for the metadata rows: one small image (config + one layer + manifest), many
// tags on it, many repositories holding it. The same bytes go to both registries.
const { createHash } = require('node:crypto');
const { MEDIA, mountBlob, pool, pushBytes, putManifest } = require('./registry-client');

const SEED_CONCURRENCY = 16;

/** Pushes a small image to `repo:tag`; resolves with `{ repo, manifestBytes, digest, blobs }`. */
async function seedImage(base, repo, tag) {
  const layer = await pushBytes(base, repo, Buffer.from('berth benchmark layer\n'.repeat(64)), MEDIA.layer);
  const configBytes = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, config: {} }),
  );
  const config = await pushBytes(base, repo, configBytes, MEDIA.config);
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: [layer] }));
  await putManifest(base, repo, tag, manifestBytes);
  const digest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
  return { repo, manifestBytes, digest, blobs: [config.digest, layer.digest] };
}

/** Tags the image `count` times in its repository: tag-00000, tag-00001, … */
async function seedTags(base, image, count) {
  await pool(count, SEED_CONCURRENCY, (i) => putManifest(base, image.repo, `tag-${String(i).padStart(5, '0')}`, image.manifestBytes));
}

/** Creates `count` more repositories `<prefix>-0000…` holding the image (blobs mounted). */
async function seedRepositories(base, image, prefix, count) {
  await pool(count, SEED_CONCURRENCY, async (i) => {
    const repo = `${prefix}-${String(i).padStart(4, '0')}`;
    for (const digest of image.blobs) await mountBlob(base, repo, image.repo, digest);
    await putManifest(base, repo, 'latest', image.manifestBytes);
  });
}

module.exports = { seedImage, seedRepositories, seedTags };

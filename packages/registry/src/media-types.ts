/** Manifest and descriptor media types the registry knows. */
export const MediaType = {
  OCI_MANIFEST: 'application/vnd.oci.image.manifest.v1+json',
  OCI_INDEX: 'application/vnd.oci.image.index.v1+json',
  DOCKER_MANIFEST: 'application/vnd.docker.distribution.manifest.v2+json',
  DOCKER_MANIFEST_LIST: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DOCKER_SCHEMA1: 'application/vnd.docker.distribution.manifest.v1+json',
  DOCKER_SCHEMA1_SIGNED: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  OCI_ARTIFACT_MANIFEST: 'application/vnd.oci.artifact.manifest.v1+json',
  OCI_EMPTY: 'application/vnd.oci.empty.v1+json',
  OCTET_STREAM: 'application/octet-stream',
} as const;

/** Media types of manifests that list other manifests. */
export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST_LIST]);

/** Media types of manifests that reference a config and layers. */
export const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST]);

/** Every manifest media type Berth accepts on PUT. */
export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([...IMAGE_MEDIA_TYPES, ...INDEX_MEDIA_TYPES]);

/** Docker schema 1, which Berth refuses (like distribution 3). */
export const SCHEMA1_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.DOCKER_SCHEMA1, MediaType.DOCKER_SCHEMA1_SIGNED]);

/**
 * Layers that clients fetch from the `urls` of their descriptor, not from the registry, so the
 * registry does not require them to be pushed.
 */
export const NON_DISTRIBUTABLE_LAYER_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

/** Content types that say nothing about the manifest kind (treated as "not given"). */
export const GENERIC_CONTENT_TYPES: ReadonlySet<string> = new Set(['', 'application/json', 'text/plain', MediaType.OCTET_STREAM]);

/** `type/subtype` without parameters, lower-cased (`A/B; charset=x` → `a/b`). */
export function essence(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

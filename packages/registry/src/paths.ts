import type { Digest } from './digest';

/**
 * The storage layout: the ONLY module that forms driver paths. It is byte for byte CNCF
 * distribution's `docker/registry/v2` tree (`registry/storage/paths.go`), so distribution and Berth
 * can serve the same storage:
 *
 * ```
 * /docker/registry/v2/
 * ├── blobs/<alg>/<first 2 hex>/<hex>/data          content-addressed bytes, shared by all repositories
 * └── repositories/<name>/                          <name> may nest: a/b/c
 *     ├── _layers/<alg>/<hex>/link                  the blob is visible in this repository
 *     ├── _manifests/revisions/<alg>/<hex>/link     the manifest is in this repository
 *     ├── _manifests/tags/<tag>/current/link        the digest the tag points at now
 *     ├── _manifests/tags/<tag>/index/<alg>/<hex>/link   every digest the tag ever pointed at
 *     ├── _manifests/referrers/<subject-alg>/<subject-hex>/<alg>/<hex>/link   (Berth only, see below)
 *     └── _uploads/<id>/data                        the bytes of an upload session
 *         _uploads/<id>/startedat                   ISO-8601 start time; its presence = the session exists
 * ```
 *
 * - A `link` file holds the digest string `<alg>:<hex>` with no newline.
 * - Manifests are stored as blobs (`blobs/.../data`) and linked under `_manifests/revisions`.
 * - `_uploads/<id>/hashstates/<alg>/<offset>` exists in distribution's layout; Berth never writes it
 *   (Node cannot serialise a hash state) and ignores it: a digest whose streaming hash is not in this
 *   process is recomputed from `data` at commit.
 * - A repository is a directory under `repositories/` that contains `_manifests`.
 *
 * Referrers index: on every manifest PUT whose body has a `subject`, Berth writes
 * `_manifests/referrers/<subject-alg>/<subject-hex>/<alg>/<hex>/link` (the referrer's digest), and it
 * removes that link when the referrer is deleted. distribution ignores these directories. A referrers
 * query lists that one directory (one `list` + one small read per referrer, never a scan of every
 * revision) and keeps only referrers whose revision link still exists (another registry may have
 * deleted them). Referrers pushed through a registry without the referrers API (distribution) are
 * recorded by clients in the fallback tag `<subject-alg>-<subject-hex>` (an image index); a query
 * merges that tag's entries too, so content pushed elsewhere is found without a scan.
 */
export const ROOT = '/docker/registry/v2';

/** One storage location, named by what it holds. */
export type PathSpec =
  | { kind: 'blobs' }
  | { kind: 'blobData'; digest: Digest }
  | { kind: 'repositories' }
  | { kind: 'repository'; name: string }
  | { kind: 'layerDir'; name: string; digest: Digest }
  | { kind: 'layerLink'; name: string; digest: Digest }
  | { kind: 'manifests'; name: string }
  | { kind: 'revisionDir'; name: string; digest: Digest }
  | { kind: 'revisionLink'; name: string; digest: Digest }
  | { kind: 'revisionsAlgorithm'; name: string; algorithm: string }
  | { kind: 'tags'; name: string }
  | { kind: 'tagDir'; name: string; tag: string }
  | { kind: 'tagCurrentLink'; name: string; tag: string }
  | { kind: 'tagIndexLink'; name: string; tag: string; digest: Digest }
  | { kind: 'referrersOf'; name: string; subject: Digest }
  | { kind: 'referrerLink'; name: string; subject: Digest; digest: Digest }
  | { kind: 'uploads'; name: string }
  | { kind: 'uploadDir'; name: string; id: string }
  | { kind: 'uploadData'; name: string; id: string }
  | { kind: 'uploadStartedAt'; name: string; id: string };

function digestPath(digest: Digest): string {
  return `${digest.algorithm}/${digest.hex}`;
}

/** The driver path of a storage location. Names, tags and ids must already be validated. */
export function pathFor(spec: PathSpec): string {
  switch (spec.kind) {
    case 'blobs':
      return `${ROOT}/blobs`;
    case 'blobData':
      return `${ROOT}/blobs/${spec.digest.algorithm}/${spec.digest.hex.slice(0, 2)}/${spec.digest.hex}/data`;
    case 'repositories':
      return `${ROOT}/repositories`;
    case 'repository':
      return `${ROOT}/repositories/${spec.name}`;
    case 'layerDir':
      return `${ROOT}/repositories/${spec.name}/_layers/${digestPath(spec.digest)}`;
    case 'layerLink':
      return `${pathFor({ ...spec, kind: 'layerDir' })}/link`;
    case 'manifests':
      return `${ROOT}/repositories/${spec.name}/_manifests`;
    case 'revisionDir':
      return `${ROOT}/repositories/${spec.name}/_manifests/revisions/${digestPath(spec.digest)}`;
    case 'revisionLink':
      return `${pathFor({ ...spec, kind: 'revisionDir' })}/link`;
    case 'revisionsAlgorithm':
      return `${ROOT}/repositories/${spec.name}/_manifests/revisions/${spec.algorithm}`;
    case 'tags':
      return `${ROOT}/repositories/${spec.name}/_manifests/tags`;
    case 'tagDir':
      return `${ROOT}/repositories/${spec.name}/_manifests/tags/${spec.tag}`;
    case 'tagCurrentLink':
      return `${ROOT}/repositories/${spec.name}/_manifests/tags/${spec.tag}/current/link`;
    case 'tagIndexLink':
      return `${ROOT}/repositories/${spec.name}/_manifests/tags/${spec.tag}/index/${digestPath(spec.digest)}/link`;
    case 'referrersOf':
      return `${ROOT}/repositories/${spec.name}/_manifests/referrers/${digestPath(spec.subject)}`;
    case 'referrerLink':
      return `${ROOT}/repositories/${spec.name}/_manifests/referrers/${digestPath(spec.subject)}/${digestPath(spec.digest)}/link`;
    case 'uploads':
      return `${ROOT}/repositories/${spec.name}/_uploads`;
    case 'uploadDir':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}`;
    case 'uploadData':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/data`;
    case 'uploadStartedAt':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/startedat`;
  }
}

/** The last segment of a driver path (`/a/b/c` → `c`). */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

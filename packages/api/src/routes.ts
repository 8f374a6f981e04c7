import type { Handler } from './context';
import { getBase } from './handlers/base';
import { deleteBlob, getBlob } from './handlers/blobs';
import { getCatalog } from './handlers/catalog';
import { deleteManifest, getManifest, putManifest } from './handlers/manifests';
import { getReferrers } from './handlers/referrers';
import { listTags } from './handlers/tags';
import { getUsage } from './handlers/usage';
import { getManifestView, getRepositories, getRepositoryTags, getSession } from './ui/handlers';
import { cancelUpload, getUploadStatus, patchUpload, putUpload, startUpload } from './handlers/uploads';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One endpoint: an anchored pattern over the path below the prefix, and a handler per method. */
export interface Route {
  readonly name: string;
  readonly pattern: RegExp;
  readonly methods: Readonly<Partial<Record<Method, Handler>>>;
}

/**
 * THE route table, the only place URLs are parsed. Express route strings cannot express names with
 * slashes, so each route is an anchored regex over the decoded path; `name` is captured greedily and
 * validated by the registry (NAME_INVALID), so a route's fixed tail decides the match. Order
 * matters: upload routes come before the blob route.
 */
export const ROUTES: readonly Route[] = [
  { name: 'base', pattern: /^\/v2\/?$/, methods: { GET: getBase, HEAD: getBase } },
  { name: 'catalog', pattern: /^\/v2\/_catalog\/?$/, methods: { GET: getCatalog } },
  { name: 'usage', pattern: /^\/v2\/_berth\/usage\/?$/, methods: { GET: getUsage } },
  { name: 'tags', pattern: /^\/v2\/(?<name>.+)\/tags\/list\/?$/, methods: { GET: listTags } },
  {
    name: 'manifest',
    pattern: /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/,
    methods: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  },
  { name: 'upload-start', pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/?$/, methods: { POST: startUpload } },
  {
    name: 'upload',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/(?<uuid>[^/]+)$/,
    methods: { GET: getUploadStatus, PATCH: patchUpload, PUT: putUpload, DELETE: cancelUpload },
  },
  { name: 'blob', pattern: /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/, methods: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob } },
  { name: 'referrers', pattern: /^\/v2\/(?<name>.+)\/referrers\/(?<digest>[^/]+)$/, methods: { GET: getReferrers } },
  // The web UI's JSON API (docs/api.md#web-ui): reached only when the UI is enabled.
  { name: 'ui-session', pattern: /^\/ui\/api\/session$/, methods: { GET: getSession } },
  { name: 'ui-repositories', pattern: /^\/ui\/api\/repositories$/, methods: { GET: getRepositories } },
  { name: 'ui-usage', pattern: /^\/ui\/api\/usage$/, methods: { GET: getUsage } },
  { name: 'ui-tags', pattern: /^\/ui\/api\/repositories\/(?<name>.+)\/tags$/, methods: { GET: getRepositoryTags } },
  {
    name: 'ui-manifest',
    pattern: /^\/ui\/api\/repositories\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/,
    methods: { GET: getManifestView, DELETE: deleteManifest },
  },
];

/** A route and its captures. */
export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

/** The route matching `path` and its captures, or undefined. */
export function matchRoute(path: string): RouteMatch | undefined {
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (match) return { route, params: { ...(match.groups ?? {}) } };
  }
  return undefined;
}

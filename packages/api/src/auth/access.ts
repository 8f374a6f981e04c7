import type { Access } from './types';

/** What one request needs: every `required` access, and optionally the source of a cross-repository mount. */
export interface RequiredAccess {
  readonly required: readonly Access[];
  /**
   * `repository:<from>:pull` for `POST …/blobs/uploads/?mount=&from=`. Without it the request is
   * still served, as a plain upload session (the blob is not mounted): the OCI spec lets a registry
   * decline a mount with 202, and nothing about the source repository leaks.
   */
  readonly mountSource?: Access;
  /**
   * Served without credentials too (the UI's session, which tells the page who it is talking as);
   * credentials that are given must still be valid.
   */
  readonly anonymous?: boolean;
}

const PULL_METHODS = new Set(['GET', 'HEAD']);
const PUSH_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function repository(name: string, ...actions: string[]): Access[] {
  return actions.map((action) => ({ type: 'repository', name, action }));
}

/**
 * The access a request needs, from its route (the route table's name and captures) and method, as
 * distribution's `appendAccessRecords`: GET/HEAD need `pull`; POST/PUT/PATCH need `pull` and
 * `push`; DELETE needs `delete` — except cancelling an upload session, which needs `pull,push`
 * like the rest of the session (distribution asks `delete`). `GET /v2/` needs valid credentials
 * only; the catalog and `/v2/_berth/usage` need `registry:catalog:*`; any other route without a repository name needs
 * `registry:<route>:*`, so a route added later is closed until it is given a rule here. The web
 * UI's routes (`ui-*`) follow the same rules (its repository list is the catalog), except its
 * session, which answers anonymous requests too. Undefined
 * for a method no route answers (the dispatcher refuses it with 405 before any handler runs).
 */
export function requiredAccess(route: string, method: string, params: Readonly<Record<string, string>>, query: URLSearchParams): RequiredAccess | undefined {
  const isPull = PULL_METHODS.has(method);
  if (!isPull && !PUSH_METHODS.has(method) && method !== 'DELETE') return undefined;
  if (route === 'base') return { required: [] };
  // Storage usage tells as much as the catalog (names and sizes): the same scope.
  if (route === 'catalog' || route === 'usage' || route === 'ui-repositories' || route === 'ui-usage') return { required: [{ type: 'registry', name: 'catalog', action: '*' }] };
  if (route === 'ui-session') return { required: [], anonymous: true };
  const name = params.name;
  if (name === undefined) return { required: [{ type: 'registry', name: route, action: '*' }] };
  if (isPull) return { required: repository(name, 'pull') };
  if (method === 'DELETE' && route !== 'upload') return { required: repository(name, 'delete') };
  const required = repository(name, 'pull', 'push');
  const from = query.get('from');
  if (route === 'upload-start' && method === 'POST' && query.get('mount') !== null && from !== null && from !== '') {
    return { required, mountSource: { type: 'repository', name: from, action: 'pull' } };
  }
  return { required };
}

/** True for what anonymous pull allows: `pull` on a repository, and the catalog. */
export function isReadOnlyAccess(access: Access): boolean {
  return (access.type === 'repository' && access.action === 'pull') || (access.type === 'registry' && access.name === 'catalog');
}

/**
 * The `scope` parameter of a Bearer challenge (distribution's `scopeParam`): one
 * `type:name:action[,action]` per resource, in the order first needed, separated by spaces —
 * `repository:app:pull,push repository:base:pull`.
 */
export function scopeParam(required: readonly Access[]): string {
  const resources = new Map<string, string[]>();
  for (const access of required) {
    const key = `${access.type}:${access.name}`;
    const actions = resources.get(key) ?? [];
    if (!actions.includes(access.action)) actions.push(access.action);
    resources.set(key, actions);
  }
  return [...resources].map(([resource, actions]) => `${resource}:${actions.join(',')}`).join(' ');
}

/** The `detail` of the 401 body: distribution serialises its access records as `{Type, Class, Name, Action}`. */
export function accessDetail(required: readonly Access[]): Array<{ Type: string; Class: string; Name: string; Action: string }> {
  return required.map((a) => ({ Type: a.type, Class: '', Name: a.name, Action: a.action }));
}

/** A challenge parameter value, quoted as Go's `%q` quotes plain strings. */
export function quoted(value: string): string {
  return JSON.stringify(value);
}

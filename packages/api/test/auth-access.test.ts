import { ROUTES } from '@berth/api';
import { requiredAccess, scopeParam } from '../src/auth/access';

/** The one table of what each route needs (distribution's appendAccessRecords, plus Berth's choices). */

const none = new URLSearchParams();
const scope = (route: string, method: string, params: Record<string, string> = { name: 'team/app' }, query = none): string | undefined => {
  const needed = requiredAccess(route, method, params, query);
  return needed && scopeParam(needed.mountSource ? [...needed.required, needed.mountSource] : needed.required);
};

describe('requiredAccess', () => {
  it('gives every method of every route in the route table an access rule', () => {
    for (const route of ROUTES) {
      for (const method of Object.keys(route.methods)) {
        const params: Record<string, string> = route.pattern.source.includes('?<name>') ? { name: 'x' } : {};
        const needed = requiredAccess(route.name, method, params, none);
        expect({ route: route.name, method, defined: needed !== undefined }).toEqual({ route: route.name, method, defined: true });
        // The web UI's session tells anonymous callers how to sign in; everything else needs an access.
        if (route.name !== 'base' && !needed!.anonymous) expect(needed!.required.length).toBeGreaterThan(0);
      }
    }
  });

  it('maps methods to actions as distribution does', () => {
    expect(scope('manifest', 'GET')).toBe('repository:team/app:pull');
    expect(scope('manifest', 'HEAD')).toBe('repository:team/app:pull');
    expect(scope('tags', 'GET')).toBe('repository:team/app:pull');
    expect(scope('referrers', 'GET')).toBe('repository:team/app:pull');
    expect(scope('manifest', 'PUT')).toBe('repository:team/app:pull,push');
    expect(scope('upload-start', 'POST')).toBe('repository:team/app:pull,push');
    expect(scope('upload', 'PATCH')).toBe('repository:team/app:pull,push');
    expect(scope('upload', 'GET')).toBe('repository:team/app:pull');
    expect(scope('manifest', 'DELETE')).toBe('repository:team/app:delete');
    expect(scope('blob', 'DELETE')).toBe('repository:team/app:delete');
    expect(scope('catalog', 'GET', {})).toBe('registry:catalog:*');
    expect(scope('usage', 'GET', {})).toBe('registry:catalog:*');
    expect(scope('base', 'GET', {})).toBe('');
    expect(scope('ui-repositories', 'GET', {})).toBe('registry:catalog:*');
    expect(scope('ui-usage', 'GET', {})).toBe('registry:catalog:*');
    expect(scope('ui-tags', 'GET')).toBe('repository:team/app:pull');
    expect(scope('ui-manifest', 'GET')).toBe('repository:team/app:pull');
    expect(scope('ui-manifest', 'DELETE')).toBe('repository:team/app:delete');
    expect(requiredAccess('ui-session', 'GET', {}, none)).toEqual({ required: [], anonymous: true });
  });

  it('asks pull,push (not delete) to cancel an upload, and nothing for methods no route serves', () => {
    expect(scope('upload', 'DELETE')).toBe('repository:team/app:pull,push');
    expect(requiredAccess('manifest', 'OPTIONS', { name: 'x' }, none)).toBeUndefined();
    expect(requiredAccess('manifest', 'TRACE', { name: 'x' }, none)).toBeUndefined();
  });

  it('closes a route without a repository name that has no rule of its own', () => {
    expect(scope('some-future-route', 'GET', {})).toBe('registry:some-future-route:*');
  });

  it('adds pull on the source of a mount as a separate, optional access; names may hold a host:port', () => {
    const query = new URLSearchParams({ mount: 'sha256:abc', from: 'localhost:5000/base' });
    const needed = requiredAccess('upload-start', 'POST', { name: 'team/app' }, query)!;
    expect(needed.mountSource).toEqual({ type: 'repository', name: 'localhost:5000/base', action: 'pull' });
    expect(scope('upload-start', 'POST', { name: 'team/app' }, query)).toBe('repository:team/app:pull,push repository:localhost:5000/base:pull');
    expect(requiredAccess('upload-start', 'POST', { name: 'x' }, new URLSearchParams({ from: 'y' }))!.mountSource).toBeUndefined();
  });
});

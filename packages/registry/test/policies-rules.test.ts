import { createInMemoryDriver } from '@berth/driver-inmemory';
import { Digest, globToRegExp, Policies, PolicyDeniedError, Registry, type PolicyRule } from '@berth/registry';
import { imageManifest } from './helpers';

const matches = (glob: string, text: string): boolean => globToRegExp(glob).test(text);

describe('policy globs', () => {
  it('* matches within one path component, ** across components, ? one character', () => {
    expect(matches('team/*', 'team/app')).toBe(true);
    expect(matches('team/*', 'team/app/db')).toBe(false);
    expect(matches('team/**', 'team/app/db')).toBe(true);
    expect(matches('team/**', 'team')).toBe(true);
    expect(matches('team/**', 'teams/app')).toBe(false);
    expect(matches('**/cache', 'a/b/cache')).toBe(true);
    expect(matches('**/cache', 'cache')).toBe(true);
    expect(matches('**', 'any/thing')).toBe(true);
    expect(matches('v?', 'v1')).toBe(true);
    expect(matches('v?', 'v10')).toBe(false);
    expect(matches('v*', 'v1.2.3')).toBe(true);
  });

  it('takes every other character literally', () => {
    expect(matches('v1.2', 'v1x2')).toBe(false);
    expect(matches('a+b', 'a+b')).toBe(true);
    expect(matches('a+b', 'aab')).toBe(false);
  });

  it('applies the first rule whose repositories match', () => {
    const rules: PolicyRule[] = [
      { repositories: ['prod/special'], immutableTags: [] },
      { repositories: ['prod/**'], immutableTags: ['v*'] },
    ];
    const policies = new Policies(rules);
    expect(policies.ruleFor('prod/special')?.key).toBe('policies.0');
    expect(policies.immutableGlob('prod/special', 'v1')).toBeUndefined();
    expect(policies.ruleFor('prod/web')?.key).toBe('policies.1');
    expect(policies.immutableGlob('prod/web', 'v1')).toBe('v*');
    expect(policies.ruleFor('dev/web')).toBeUndefined();
  });
});

describe('immutable tags in the registry services', () => {
  const rules: PolicyRule[] = [{ repositories: ['**'], immutableTags: ['v*'] }];

  it('are refused by another registry on the same storage (the check reads storage, not a process cache)', async () => {
    const driver = createInMemoryDriver();
    const one = new Registry({ driver, deleteEnabled: true, policies: rules }).repository('app');
    const other = new Registry({ driver, deleteEnabled: true, policies: rules }).repository('app');
    const first = await imageManifest(one, {}, 'first');
    await one.manifests.put({ tag: 'v1' }, first);
    const second = await imageManifest(other, {}, 'second');
    await expect(other.manifests.put({ tag: 'v1' }, second)).rejects.toThrow(PolicyDeniedError);
    await expect(other.tags.untag('v1')).rejects.toThrow(/policies\.0\.immutabletags "v\*"/);
    // ?tag= on a PUT by digest is checked too.
    await expect(other.manifests.put({ digest: Digest.fromBytes(second) }, second, { extraTags: ['v1'] })).rejects.toThrow(PolicyDeniedError);
  });

  it('do not bind the pull-through cache filling itself from upstream', async () => {
    const registry = new Registry({ driver: createInMemoryDriver(), deleteEnabled: true, policies: rules });
    const cache = registry.cacheRepository('library/alpine');
    await cache.manifests.put({ tag: 'v1' }, await imageManifest(cache, {}, 'upstream one'));
    await cache.manifests.put({ tag: 'v1' }, await imageManifest(cache, {}, 'upstream two'));
    await cache.tags.untag('v1');
  });
});

import { ConfigError, describeType, joinKey } from './errors';
import { plainAny, type NormalizeContext } from './normalize';
import { isRawMap, type RawNode } from './raw';
import { resolveStruct } from './resolve';
import { AUTH_SCHEMES } from './schema';
import type { AuthConfig } from './types';

/**
 * Resolves `auth`: nothing → `{type: 'none'}`; otherwise exactly one scheme among none, silly,
 * htpasswd and token, with the parameters distribution's access controllers require.
 */
export function resolveAuth(raw: RawNode | undefined, ctx: NormalizeContext): AuthConfig {
  if (raw === undefined || raw === null) return { type: 'none', parameters: {} };
  if (!isRawMap(raw)) throw new ConfigError('auth', `must be a mapping with one authentication scheme, got ${describeType(plainAny(raw))}`);
  const schemes = Object.keys(raw);
  if (schemes.length === 0) return { type: 'none', parameters: {} };
  if (schemes.length > 1) throw new ConfigError('auth', `multiple authentication schemes configured: ${schemes.join(' and ')}; configure exactly one`);
  const type = schemes[0] as string;
  const shape = AUTH_SCHEMES[type];
  const key = joinKey('auth', type);
  if (!shape) throw new ConfigError(key, `unknown authentication scheme (known: ${Object.keys(AUTH_SCHEMES).join(', ')})`);
  const p = resolveStruct(shape, raw[type], key, ctx) as Record<string, string | undefined> & {
    signingalgorithms: string[];
    autoredirect: boolean;
    anonymouspull: boolean;
  };
  const parameters = Object.freeze({ ...p }) as Readonly<Record<string, unknown>>;
  const required = (name: string): string => {
    const value = p[name];
    if (value === undefined || value === '') throw new ConfigError(joinKey(key, name), `is required by the ${type} authentication scheme`);
    return value;
  };
  switch (type) {
    case 'none':
      return { type: 'none', parameters };
    case 'silly':
      return { type: 'silly', realm: required('realm'), service: required('service'), parameters };
    case 'htpasswd':
      return { type: 'htpasswd', realm: required('realm'), path: required('path'), anonymouspull: p.anonymouspull, parameters };
    default: {
      const realm = required('realm');
      const service = required('service');
      const issuer = required('issuer');
      if (!p.rootcertbundle && !p.jwks) {
        throw new ConfigError(joinKey(key, 'rootcertbundle'), 'token authentication needs rootcertbundle or jwks (the keys that verify tokens)');
      }
      return {
        type: 'token',
        realm,
        service,
        issuer,
        ...(p.rootcertbundle ? { rootcertbundle: p.rootcertbundle } : {}),
        ...(p.jwks ? { jwks: p.jwks } : {}),
        signingalgorithms: p.signingalgorithms,
        autoredirect: p.autoredirect,
        autoredirectpath: p.autoredirectpath as string,
        anonymouspull: p.anonymouspull,
        parameters,
      };
    }
  }
}

import { ConfigError } from './errors';
import type { PolicyConfig } from './types';

/**
 * `policies` (Berth's; docs/policies.md): a list of rules matched against repository names, first
 * match wins. Checked here so that a mistake stops start-up with the key that holds it.
 */

/** Repository globs: name characters, `/`, and the wildcards `*`, `**`, `?`. */
const REPOSITORY_GLOB = /^[a-z0-9._\-/*?]+$/;
/** Tag globs: tag characters and the wildcards. */
const TAG_GLOB = /^[A-Za-z0-9._\-*?]+$/;

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** A size such as `50GiB`, `1.5GB`, `1048576` (bytes); undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = UNITS[(m[2] as string).toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

interface ResolvedRule {
  repositories: string[];
  immutabletags: string[];
  retention: { keeplast?: number; keeptags: string[]; pushedwithin?: number; untaggedolderthan?: number };
  quota?: string;
}

export function policiesOf(resolved: unknown): PolicyConfig[] {
  return (resolved as ResolvedRule[]).map((rule, i) => {
    const key = `policies.${i}`;
    if (rule.repositories.length === 0) {
      throw new ConfigError(`${key}.repositories`, 'is required: the repository globs the rule applies to, such as ["prod/**"]');
    }
    rule.repositories.forEach((glob, j) => {
      if (!REPOSITORY_GLOB.test(glob)) {
        throw new ConfigError(`${key}.repositories.${j}`, `must be a repository name glob (a-z 0-9 . _ - / * ?), got ${JSON.stringify(glob)}`);
      }
    });
    rule.immutabletags.forEach((glob, j) => {
      if (!TAG_GLOB.test(glob)) throw new ConfigError(`${key}.immutabletags.${j}`, `must be a tag glob (A-Z a-z 0-9 . _ - * ?), got ${JSON.stringify(glob)}`);
    });
    const r = rule.retention;
    r.keeptags.forEach((glob, j) => {
      if (!TAG_GLOB.test(glob)) throw new ConfigError(`${key}.retention.keeptags.${j}`, `must be a tag glob (A-Z a-z 0-9 . _ - * ?), got ${JSON.stringify(glob)}`);
    });
    for (const name of ['pushedwithin', 'untaggedolderthan'] as const) {
      const value = r[name];
      if (value !== undefined && !(value > 0)) throw new ConfigError(`${key}.retention.${name}`, 'must be a positive duration such as 720h');
    }
    let quota: number | undefined;
    if (rule.quota !== undefined && rule.quota !== '') {
      quota = parseSize(rule.quota);
      if (quota === undefined || quota <= 0) {
        throw new ConfigError(`${key}.quota`, `must be a positive size such as 50GiB, 500MB or 1048576 (bytes), got ${JSON.stringify(rule.quota)}`);
      }
    }
    const retention = {
      ...(r.keeplast !== undefined ? { keeplast: r.keeplast } : {}),
      keeptags: r.keeptags,
      ...(r.pushedwithin !== undefined ? { pushedwithin: r.pushedwithin } : {}),
      ...(r.untaggedolderthan !== undefined ? { untaggedolderthan: r.untaggedolderthan } : {}),
    };
    return { repositories: rule.repositories, immutabletags: rule.immutabletags, retention, ...(quota !== undefined ? { quota } : {}) };
  });
}

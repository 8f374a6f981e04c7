/**
 * The rules of `policies` (docs/policies.md): a list matched against repository names, first match
 * wins. Globs: `*` matches within one path component (no `/`), `**` across components, `?` one
 * character other than `/`; everything else is literal.
 */

/** `policies[].retention`: which tags retention keeps (a tag matching none of these is deleted). */
export interface RetentionRule {
  /** Keep the N most recently pushed tags (by push time). */
  readonly keepLast?: number;
  /** Keep the tags matching any of these globs. */
  readonly keepTags: readonly string[];
  /** Keep tags pushed within this many milliseconds. */
  readonly pushedWithinMs?: number;
  /** Delete untagged manifests (not referenced by a kept manifest) pushed longer ago than this. */
  readonly untaggedOlderThanMs?: number;
}

/** One entry of `policies`. */
export interface PolicyRule {
  /** Repository name globs the rule applies to. */
  readonly repositories: readonly string[];
  /** Tag globs that, once pushed, always point at the same manifest. */
  readonly immutableTags: readonly string[];
  readonly retention?: RetentionRule;
  /** Largest `bytes` (docs/policies.md) the repository may reach. */
  readonly quota?: number;
}

/** A rule that applies to a repository, with its position in `policies` (named in messages). */
export interface MatchedRule {
  readonly index: number;
  readonly rule: PolicyRule;
  /** `policies.<index>` (the configuration key of the rule). */
  readonly key: string;
}

/** A glob compiled to an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        // `**/`: any number of leading components, also none.
        i++;
        source += '(?:.*/)?';
      } else source += '.*';
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  // `a/**` also matches `a` itself.
  source = source.replace(/\\\/\.\*$/, '(?:/.*)?');
  return new RegExp(`^${source}$`);
}

/** True when `text` matches `glob`. */
export function globMatches(glob: string, text: string): boolean {
  return globToRegExp(glob).test(text);
}

interface CompiledRule {
  readonly matched: MatchedRule;
  readonly repositories: readonly RegExp[];
  readonly immutable: ReadonlyArray<{ glob: string; re: RegExp }>;
}

/** The configured rules, compiled once. */
export class Policies {
  private readonly compiled: readonly CompiledRule[];

  constructor(readonly rules: readonly PolicyRule[]) {
    this.compiled = rules.map((rule, index) => ({
      matched: { index, rule, key: `policies.${index}` },
      repositories: rule.repositories.map(globToRegExp),
      immutable: rule.immutableTags.map((glob) => ({ glob, re: globToRegExp(glob) })),
    }));
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The first rule whose `repositories` matches `name`, or undefined. */
  ruleFor(name: string): MatchedRule | undefined {
    return this.compiledFor(name)?.matched;
  }

  /** The `immutabletags` glob that makes `tag` of repository `name` immutable, or undefined. */
  immutableGlob(name: string, tag: string): string | undefined {
    return this.compiledFor(name)?.immutable.find(({ re }) => re.test(tag))?.glob;
  }

  private compiledFor(name: string): CompiledRule | undefined {
    return this.compiled.find((c) => c.repositories.some((re) => re.test(name)));
  }
}

/** No rules: every write is allowed, retention keeps everything. */
export const NO_POLICIES = new Policies([]);

/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1): `Bearer realm="…",service="…",scope="…"`,
 * `Basic realm="…"`. One header may hold several challenges separated by commas, and a response
 * may carry several headers.
 */
export interface Challenge {
  /** Lower-cased: `bearer`, `basic`, … */
  readonly scheme: string;
  /** Parameter names lower-cased, values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
/** `name=` but not the `==` padding of a token68. */
const PARAM_START = /^\s*[!#$%&'*+\-.^_`|~0-9A-Za-z]+\s*=(?!=)/;

class Scanner {
  private pos = 0;
  constructor(private readonly text: string) {}

  get done(): boolean {
    this.skip(/^[\s]+/);
    return this.pos >= this.text.length;
  }

  skip(pattern: RegExp): boolean {
    const match = pattern.exec(this.text.slice(this.pos));
    if (!match) return false;
    this.pos += match[0].length;
    return true;
  }

  token(): string | undefined {
    this.skip(/^\s+/);
    const match = TOKEN.exec(this.text.slice(this.pos));
    if (!match) return undefined;
    this.pos += match[0].length;
    return match[0];
  }

  /**
   * A quoted string (backslash escapes honoured), or else everything up to the next comma or space
   * (leniently: servers send unquoted URLs, which are not tokens); undefined when neither is here.
   */
  value(): string | undefined {
    this.skip(/^\s+/);
    if (this.text[this.pos] !== '"') {
      const match = /^[^\s,]+/.exec(this.text.slice(this.pos));
      if (!match) return undefined;
      this.pos += match[0].length;
      return match[0];
    }
    let out = '';
    for (this.pos++; this.pos < this.text.length; this.pos++) {
      const c = this.text[this.pos];
      if (c === '\\' && this.pos + 1 < this.text.length) out += this.text[++this.pos];
      else if (c === '"') {
        this.pos++;
        return out;
      } else out += c;
    }
    return out;
  }

  /** True when `name =` follows (an auth-param rather than the next challenge's scheme). */
  atParam(): boolean {
    return PARAM_START.test(this.text.slice(this.pos));
  }

  mark(): number {
    return this.pos;
  }

  reset(pos: number): void {
    this.pos = pos;
  }
}

/** Parses one header value into its challenges; malformed trailing parts are ignored. */
function parseOne(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  const scanner = new Scanner(header);
  while (!scanner.done) {
    const scheme = scanner.token();
    if (!scheme) break;
    const params: Record<string, string> = {};
    // token68 (`Basic abc==`) carries no parameters we use: skip it.
    if (!scanner.atParam()) scanner.skip(/^\s*[A-Za-z0-9\-._~+/]+=*(?=\s*(,|$))/);
    for (;;) {
      scanner.skip(/^[\s,]+/);
      if (!scanner.atParam()) break;
      const start = scanner.mark();
      const name = scanner.token();
      if (!name || !scanner.skip(/^\s*=/)) {
        scanner.reset(start);
        break;
      }
      params[name.toLowerCase()] = scanner.value() ?? '';
    }
    challenges.push({ scheme: scheme.toLowerCase(), params });
    scanner.skip(/^[\s,]+/);
  }
  return challenges;
}

/** Every challenge of one or several `WWW-Authenticate` header values, in order. */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  return values.flatMap(parseOne);
}

import { createHash, createPublicKey, createSecretKey, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InvalidTokenError } from './jws';
import { AuthSetupError } from './types';

/** The members of each key type that make up its RFC 7638 thumbprint, in lexicographic order. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  oct: ['k', 'kty'],
};

/** The RFC 7638 JWK thumbprint (SHA-256, base64url) of a key; distribution v3's key ID for bundle keys. */
export function jwkThumbprint(jwk: JsonWebKey): string | undefined {
  const members = jwk.kty ? THUMBPRINT_MEMBERS[jwk.kty] : undefined;
  if (!members || members.some((m) => typeof jwk[m] !== 'string')) return undefined;
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * The libtrust key ID distribution 2.x used for the keys of the certificate bundle (and token
 * servers written for it still put in `kid`): SHA-256 of the DER public key, first 240 bits,
 * base32, in twelve groups of four (`ABCD:EFGH:…`).
 */
export function libtrustKeyId(key: KeyObject): string {
  const bytes = createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

function thumbprintOf(key: KeyObject): string | undefined {
  return jwkThumbprint(key.export({ format: 'jwk' }));
}

/** `x5c` members (standard base64 DER) → certificates, leaf first. */
function certificates(x5c: unknown): X509Certificate[] {
  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((c) => typeof c === 'string')) throw new InvalidTokenError('x5c is not a list of certificates');
  try {
    return x5c.map((c: string) => new X509Certificate(Buffer.from(c, 'base64')));
  } catch {
    throw new InvalidTokenError('x5c holds a certificate that does not parse');
  }
}

function validAt(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
}

/**
 * The keys a token signature may be checked with: the certificates of `rootcertbundle` (anchors of
 * x5c chains; their keys are also trusted by RFC 7638 thumbprint and libtrust key ID) and the keys
 * of the `jwks` file (trusted by `kid` and by thumbprint).
 */
export class TrustStore {
  private readonly roots: X509Certificate[] = [];
  private readonly keys = new Map<string, KeyObject>();

  /** Reads the files now; unreadable or unusable ones are `AuthSetupError`s. */
  constructor(options: { rootCertBundle?: string; jwks?: string }) {
    if (options.rootCertBundle) this.loadBundle(options.rootCertBundle);
    if (options.jwks) this.loadJwks(options.jwks);
    if (this.roots.length === 0 && this.keys.size === 0) {
      throw new AuthSetupError(options.rootCertBundle ? 'auth.token.rootcertbundle' : 'auth.token.jwks', 'token authentication needs at least one signing key, and none was found');
    }
  }

  private loadBundle(path: string): void {
    const key = 'auth.token.rootcertbundle';
    let pem: string;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (error) {
      throw new AuthSetupError(key, `cannot read the root certificate bundle ${path}: ${(error as Error).message}`);
    }
    for (const block of pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block);
      } catch (error) {
        throw new AuthSetupError(key, `${path}: a certificate does not parse: ${(error as Error).message}`);
      }
      this.roots.push(cert);
      const thumbprint = thumbprintOf(cert.publicKey);
      if (thumbprint) this.keys.set(thumbprint, cert.publicKey);
      this.keys.set(libtrustKeyId(cert.publicKey), cert.publicKey);
    }
  }

  private loadJwks(path: string): void {
    const key = 'auth.token.jwks';
    let set: unknown;
    try {
      set = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new AuthSetupError(key, `cannot read the JWKS file ${path}: ${(error as Error).message}`);
    }
    const keys = (set as { keys?: unknown }).keys;
    if (!Array.isArray(keys)) throw new AuthSetupError(key, `${path}: not a JSON Web Key Set (no "keys" list)`);
    keys.forEach((jwk: JsonWebKey & { kid?: unknown }, index) => {
      let keyObject: KeyObject;
      try {
        keyObject = jwk.kty === 'oct' ? createSecretKey(Buffer.from(String(jwk.k), 'base64url')) : createPublicKey({ key: jwk, format: 'jwk' });
      } catch (error) {
        throw new AuthSetupError(key, `${path}: key ${index} is not a usable JWK: ${(error as Error).message}`);
      }
      if (typeof jwk.kid === 'string' && jwk.kid !== '') this.keys.set(jwk.kid, keyObject);
      const thumbprint = jwkThumbprint(jwk.kty === 'oct' ? jwk : keyObject.export({ format: 'jwk' }));
      if (thumbprint) this.keys.set(thumbprint, keyObject);
    });
  }

  /**
   * The key that must have signed a token with `header`, as distribution chooses it: the leaf of
   * `x5c` when that chains to a bundle certificate; else a `jwk` header (its own x5c chain, or a
   * trusted key with its `kid` or thumbprint); else the trusted key named by `kid`. Throws
   * `InvalidTokenError` when none is trusted.
   */
  signingKey(header: Readonly<Record<string, unknown>>, now = Date.now()): KeyObject {
    if (header.x5c !== undefined) return this.chainedLeaf(certificates(header.x5c), now);
    if (typeof header.jwk === 'object' && header.jwk !== null) {
      const jwk = header.jwk as JsonWebKey & { kid?: unknown; x5c?: unknown };
      if (jwk.x5c !== undefined) return this.chainedLeaf(certificates(jwk.x5c), now);
      const byKid = typeof jwk.kid === 'string' ? this.keys.get(jwk.kid) : undefined;
      const thumbprint = jwkThumbprint(jwk);
      const trusted = byKid ?? (thumbprint ? this.keys.get(thumbprint) : undefined);
      if (!trusted) throw new InvalidTokenError('untrusted JWK with no certificate chain');
      return trusted;
    }
    if (typeof header.kid === 'string' && header.kid !== '') {
      const trusted = this.keys.get(header.kid);
      if (!trusted) throw new InvalidTokenError(`token signed by untrusted key with ID ${JSON.stringify(header.kid)}`);
      return trusted;
    }
    throw new InvalidTokenError('the token header names no key (x5c, jwk or kid)');
  }

  /** The leaf's key when `chain` (leaf first, then intermediates) reaches a bundle certificate. */
  private chainedLeaf(chain: X509Certificate[], now: number): KeyObject {
    const [leaf, ...intermediates] = chain as [X509Certificate, ...X509Certificate[]];
    if (!this.reachesRoot(leaf, intermediates, now, 0)) throw new InvalidTokenError('the x5c chain does not lead to a trusted root certificate');
    return leaf.publicKey;
  }

  private reachesRoot(cert: X509Certificate, intermediates: X509Certificate[], now: number, depth: number): boolean {
    if (!validAt(cert, now)) return false;
    for (const root of this.roots) {
      if (root.raw.equals(cert.raw)) return true;
      if (validAt(root, now) && cert.checkIssued(root) && cert.verify(root.publicKey)) return true;
    }
    if (depth >= 8) return false;
    return intermediates.some(
      (next, i) =>
        next.ca &&
        cert.checkIssued(next) &&
        cert.verify(next.publicKey) &&
        this.reachesRoot(next, [...intermediates.slice(0, i), ...intermediates.slice(i + 1)], now, depth + 1),
    );
  }
}

import { constants, createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto';

/**
 * JWS compact serialisation (RFC 7515) and the signature algorithms of distribution's token
 * authentication (RFC 7518): EdDSA, HS256/384/512, RS256/384/512, ES256/384/512, PS256/384/512.
 * Written on node:crypto: jose 6 is ESM-only, which Berth's CommonJS build could load only through
 * Node's require(esm) and jest's runtime cannot load at all.
 */

/** distribution's default `signingalgorithms`, in its order. */
export const SIGNING_ALGORITHMS = ['EdDSA', 'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'] as const;

/** A token that is not a well-formed JWS, or whose signature does not verify. */
export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

/** The parts of a compact JWS, decoded but not verified. */
export interface ParsedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** `BASE64URL(header) '.' BASE64URL(payload)`: the bytes the signature covers. */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidTokenError(`the ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidTokenError(`the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** Splits and decodes a compact JWS; `algorithms` are the `alg` values accepted (never `none`). */
export function parseJws(token: string, algorithms: readonly string[]): ParsedJws {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) throw new InvalidTokenError('not a compact JWS (three base64url parts)');
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h, 'header');
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
    throw new InvalidTokenError(`signing algorithm ${JSON.stringify(header.alg)} is not accepted (accepted: ${algorithms.join(', ')})`);
  }
  if (header.crit !== undefined) throw new InvalidTokenError('critical header extensions are not supported');
  return { header, payload: decodeJson(p, 'payload'), signingInput: Buffer.from(`${h}.${p}`, 'ascii'), signature: Buffer.from(s, 'base64url') };
}

const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
const EC_CURVES: Record<string, { curve: string; size: number }> = {
  ES256: { curve: 'prime256v1', size: 64 },
  ES384: { curve: 'secp384r1', size: 96 },
  ES512: { curve: 'secp521r1', size: 132 },
};

/**
 * True when `signature` over `input` verifies with `key` under `alg`. The key type must be the
 * algorithm's (an RSA key for RS and PS, the named curve for ES, Ed25519/Ed448 for EdDSA, a secret
 * for HS), so a public key can never be used as an HMAC secret.
 */
export function verifySignature(alg: string, key: KeyObject, input: Buffer, signature: Buffer): boolean {
  const family = alg.slice(0, 2);
  const hash = HASHES[alg.slice(2)];
  const keyType = key.type === 'secret' ? 'secret' : key.asymmetricKeyType;
  try {
    if (alg === 'EdDSA') {
      return (keyType === 'ed25519' || keyType === 'ed448') && verify(null, input, key, signature);
    }
    if (!hash) return false;
    if (family === 'HS') {
      if (keyType !== 'secret') return false;
      const mac = createHmac(hash, key).update(input).digest();
      return mac.length === signature.length && timingSafeEqual(mac, signature);
    }
    if (family === 'RS') return keyType === 'rsa' && verify(hash, input, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    if (family === 'PS') {
      return (
        (keyType === 'rsa' || keyType === 'rsa-pss') &&
        verify(hash, input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature)
      );
    }
    if (family === 'ES') {
      const ec = EC_CURVES[alg];
      if (!ec || keyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== ec.curve || signature.length !== ec.size) return false;
      return verify(hash, input, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
  } catch {
    return false;
  }
  return false;
}

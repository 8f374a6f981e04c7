import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestInvalidError } from './errors';

/** The digest algorithms Berth stores and verifies. */
export type DigestAlgorithm = 'sha256' | 'sha512';

export const SUPPORTED_ALGORITHMS: readonly DigestAlgorithm[] = ['sha256', 'sha512'];

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** The general OCI grammar: `algorithm ":" encoded` (image-spec descriptor.md). */
const DIGEST_GRAMMAR = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** A validated content digest: a supported algorithm and its lower-case hex encoding. */
export class Digest {
  private constructor(
    readonly algorithm: DigestAlgorithm,
    readonly hex: string,
  ) {}

  /** `<alg>:<hex>`. */
  toString(): string {
    return `${this.algorithm}:${this.hex}`;
  }

  equals(other: Digest): boolean {
    return this.algorithm === other.algorithm && this.hex === other.hex;
  }

  /** Builds a digest from parts already known to be valid (a hash output). */
  static of(algorithm: DigestAlgorithm, hex: string): Digest {
    return new Digest(algorithm, hex);
  }

  /** The digest of `content` with `algorithm`. */
  static fromBytes(content: Buffer, algorithm: DigestAlgorithm = 'sha256'): Digest {
    return new Digest(algorithm, createHash(algorithm).update(content).digest('hex'));
  }

  /**
   * Parses `<alg>:<hex>`. Throws `DigestInvalidError` for anything malformed, for an algorithm other
   * than sha256/sha512 (the detail says "unsupported"), for upper-case hex and for a wrong length.
   */
  static parse(value: unknown): Digest {
    if (typeof value !== 'string' || value === '') {
      throw new DigestInvalidError('digest missing', { digest: value ?? null });
    }
    const match = DIGEST_GRAMMAR.exec(value);
    if (!match) throw new DigestInvalidError(`invalid digest ${JSON.stringify(value)}`, { digest: value });
    const [, algorithm, encoded] = match;
    if (!isSupportedAlgorithm(algorithm)) {
      throw new DigestInvalidError(`unsupported digest algorithm ${JSON.stringify(algorithm)} (supported: sha256, sha512)`, {
        digest: value,
      });
    }
    if (!/^[a-f0-9]+$/.test(encoded) || encoded.length !== HEX_LENGTH[algorithm]) {
      throw new DigestInvalidError(
        `invalid ${algorithm} digest ${JSON.stringify(value)}: expected ${HEX_LENGTH[algorithm]} lower-case hex characters`,
        { digest: value },
      );
    }
    return new Digest(algorithm, encoded);
  }

  /** True when `value` parses. */
  static isValid(value: unknown): boolean {
    try {
      Digest.parse(value);
      return true;
    } catch {
      return false;
    }
  }
}

export function isSupportedAlgorithm(value: unknown): value is DigestAlgorithm {
  return value === 'sha256' || value === 'sha512';
}

/**
 * A pass-through stream that hashes what flows through it and counts the bytes. `hash` may be an
 * existing hash state (a resumed upload) or omitted (none is computed, only bytes are counted).
 */
export class HashingStream extends Transform {
  bytes = 0;
  constructor(readonly hash?: Hash) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash?.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

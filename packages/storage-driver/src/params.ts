import { parseGoDurationNs } from './duration';
import { DriverParameterError } from './errors';

/**
 * Readers for driver parameters that may arrive as YAML values or as environment strings. Each
 * throws `DriverParameterError` naming the key. `undefined` and `''` mean "not set".
 */
export class ParameterReader {
  constructor(
    private readonly driver: string,
    private readonly parameters: Record<string, unknown>,
  ) {}

  private raw(key: string): unknown {
    const value = this.parameters[key];
    return value === '' || value === null ? undefined : value;
  }

  string(key: string, fallback: string): string;
  string(key: string): string | undefined;
  string(key: string, fallback?: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new DriverParameterError(this.driver, key, `must be a string, got ${JSON.stringify(value)}`);
  }

  requiredString(key: string): string {
    const value = this.string(key);
    if (value === undefined) throw new DriverParameterError(this.driver, key, 'is required');
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
    throw new DriverParameterError(this.driver, key, `must be true or false, got ${JSON.stringify(value)}`);
  }

  integer(key: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const value = this.raw(key);
    let n = fallback;
    if (value !== undefined) {
      n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n)) throw new DriverParameterError(this.driver, key, `must be an integer, got ${JSON.stringify(value)}`);
    }
    if ((range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
      throw new DriverParameterError(this.driver, key, `must be between ${range.min ?? '-∞'} and ${range.max ?? '∞'}, got ${n}`);
    }
    return n;
  }

  /**
   * A Go duration (`10s`, `1m30s`; YAML may give an integer of nanoseconds, as Go's
   * `time.Duration`) in milliseconds, within `range` (milliseconds).
   */
  durationMs(key: string, fallbackMs: number, range: { minMs?: number; maxMs?: number } = {}): number {
    const value = this.raw(key);
    let ms = fallbackMs;
    if (value !== undefined) {
      const ns = typeof value === 'number' ? value : typeof value === 'string' ? parseGoDurationNs(value.trim()) : undefined;
      if (ns === undefined || !Number.isFinite(ns)) {
        throw new DriverParameterError(this.driver, key, `must be a Go duration such as 10s or 1m30s, got ${JSON.stringify(value)}`);
      }
      ms = ns / 1e6;
    }
    if ((range.minMs !== undefined && ms < range.minMs) || (range.maxMs !== undefined && ms > range.maxMs)) {
      const shown = (n: number | undefined): string => (n === undefined ? '∞' : `${n}ms`);
      throw new DriverParameterError(this.driver, key, `must be between ${shown(range.minMs)} and ${shown(range.maxMs)}, got ${ms}ms`);
    }
    return ms;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(key);
    if (value === undefined) return fallback;
    const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
    if (!match) throw new DriverParameterError(this.driver, key, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    return match;
  }

  /** Throws for any key not in `known` (a typo in config.yml must not pass silently). */
  rejectUnknown(known: readonly string[]): void {
    for (const key of Object.keys(this.parameters)) {
      if (!known.includes(key)) throw new DriverParameterError(this.driver, key, `unknown parameter (known: ${known.join(', ')})`);
    }
  }
}

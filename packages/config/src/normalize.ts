import { ConfigError, describeType, joinKey } from './errors';
import { isRawMap, RawScalar, type RawNode } from './raw';
import type { LeafShape, Shape, StructShape } from './shape';

/** Plain JavaScript produced from the raw tree: what convict and the resolvers see. */
export type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

export interface NormalizeContext {
  readonly warnings: string[];
}

/**
 * Reads a raw value as `shape` describes it, the way yaml.v2 decodes into distribution's Go types:
 * a scalar read into a string field keeps its source text; a null struct is an absent one; keys a
 * struct does not know are an error (Berth is strict where distribution silently drops them).
 * Type checks of scalars are left to the convict pass; only structure (a mapping where a section is
 * expected) is checked here. Keys marked `ignored` add a warning when set.
 */
export function normalize(shape: Shape, raw: RawNode | undefined, key: string, ctx: NormalizeContext): Plain | undefined {
  if (raw === undefined || raw === null) return undefined;
  switch (shape.kind) {
    case 'struct':
      return normalizeStruct(shape, raw, key, ctx);
    case 'selector':
      // Resolved by storage.ts / auth.ts, which know the driver and scheme registries.
      return plainAny(raw);
    case 'map': {
      const map = expectMapping(raw, key);
      const out: { [key: string]: Plain } = {};
      for (const [k, v] of Object.entries(map)) {
        out[k] = normalize(shape.elem, v, joinKey(key, k), ctx) ?? zeroOf(shape.elem);
      }
      return out;
    }
    case 'list':
      if (!Array.isArray(raw)) return plainAny(raw); // the type check reports it
      return raw.map((v, i) => normalize(shape.elem, v, joinKey(key, i), ctx) ?? zeroOf(shape.elem));
    default:
      return normalizeLeaf(shape, raw);
  }
}

export function normalizeStruct(shape: StructShape, raw: RawNode | undefined, key: string, ctx: NormalizeContext): { [key: string]: Plain } {
  const out: { [key: string]: Plain } = {};
  if (raw === undefined || raw === null) return out;
  const map = expectMapping(raw, key);
  for (const [name, value] of Object.entries(map)) {
    const fieldKey = joinKey(key, name);
    const field = shape.fields[name];
    if (!field) {
      const known = Object.keys(shape.fields);
      const hint = known.find((k) => k.toLowerCase() === name.toLowerCase());
      throw new ConfigError(
        fieldKey,
        hint ? `unknown key (keys are lower case: did you mean ${hint}?)` : `unknown key${known.length ? ` (known keys: ${known.join(', ')})` : ' (this section takes no keys)'}`,
      );
    }
    const normalized = normalize(field.shape, value, fieldKey, ctx);
    if (normalized === undefined) continue;
    if (field.refused) throw new ConfigError(fieldKey, field.refused);
    if (field.ignored) {
      ctx.warnings.push(`${fieldKey}: accepted for compatibility with distribution but not implemented by Berth; ignored`);
    }
    out[name] = normalized;
  }
  return out;
}

function expectMapping(raw: RawNode, key: string): Record<string, RawNode> {
  if (!isRawMap(raw)) throw new ConfigError(key, `must be a mapping (a section of keys), got ${describeType(plainAny(raw))}`);
  return raw;
}

function normalizeLeaf(shape: LeafShape, raw: RawNode): Plain {
  if (Array.isArray(raw) || isRawMap(raw)) return plainAny(raw); // the type check reports it
  if (shape.kind === 'any') return plainAny(raw);
  if (shape.kind === 'durationString') {
    // distribution type-asserts a string here: `age: 3600` is an integer, and an error.
    return raw instanceof RawScalar ? scalarValue(raw) : raw;
  }
  if (shape.kind === 'string') {
    const text = raw instanceof RawScalar ? raw.text : raw;
    return shape.lowerCase && typeof text === 'string' ? text.toLowerCase() : text;
  }
  if (shape.kind === 'duration') return raw instanceof RawScalar ? (typeof raw.value === 'number' ? raw.value : raw.text) : raw;
  // bool, int: keep what YAML resolved (a quoted "true" stays a string and fails the type check).
  if (raw instanceof RawScalar) return typeof raw.value === 'number' || typeof raw.value === 'boolean' ? raw.value : raw.text;
  return raw;
}

/** Any raw value as plain JavaScript, kept as YAML typed it (Go `interface{}`). */
export function plainAny(raw: RawNode): Plain {
  if (raw === null) return null;
  // Primitives appear when an already-normalized value is normalized again (structs in lists).
  if (typeof raw !== 'object') return raw as Plain;
  if (raw instanceof RawScalar) return scalarValue(raw);
  if (Array.isArray(raw)) return raw.map(plainAny);
  const out: { [key: string]: Plain } = {};
  for (const [k, v] of Object.entries(raw)) out[k] = plainAny(v);
  return out;
}

/**
 * A non-string scalar's value. A number whose text does not survive the round trip (`0123`,
 * `1_000`, `0x1F`) keeps its text, so a driver that reads a string gets what was written; dates and
 * other exotic YAML values become their text.
 */
function scalarValue(raw: RawScalar): Plain {
  const value = raw.value;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) && String(value) === raw.text.replace(/^\+/, '') ? value : raw.text;
  if (typeof value === 'bigint') return raw.text;
  return raw.text;
}

/** What Go stores for an explicit null element: the zero value of its type. */
function zeroOf(shape: Shape): Plain {
  switch (shape.kind) {
    case 'list':
      return [];
    case 'struct':
    case 'map':
    case 'selector':
      return {};
    case 'string':
    case 'durationString':
      return '';
    case 'bool':
      return false;
    case 'int':
    case 'duration':
      return 0;
    default:
      return null;
  }
}

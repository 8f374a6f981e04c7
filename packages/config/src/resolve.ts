import convict from 'convict';
import { checkValue } from './check';
import { durationToMs } from './duration';
import { ConfigError, joinKey } from './errors';
import { normalizeStruct, type NormalizeContext, type Plain } from './normalize';
import type { RawNode } from './raw';
import { isLeaf, type Field, type Shape, type StructShape } from './shape';

/**
 * The convict pass. Each struct becomes a convict schema whose leaves all use one named format,
 * `berth-config-value`, which checks the value against its `Shape` (a named format is used because
 * convict silently coerces strings for function formats with a boolean or number default:
 * `"yes"` would become `true`). Convict supplies the defaults and, in strict mode, rejects keys the
 * schema does not declare (normalize.ts already rejects them with a clearer message).
 *
 * convict splits keys on `.` and walks objects, so maps with user-chosen keys (`http.headers`,
 * `log.fields`) travel through it as `[key, value]` entry lists and become objects again afterwards.
 * Lists are opaque to convict; structs inside lists and maps get a convict pass of their own.
 */

const FORMAT = 'berth-config-value';

interface LeafSpec {
  readonly key: string;
  readonly shape: Shape;
  readonly secret: boolean;
}

interface Failure {
  readonly key: string;
  readonly message: string;
}

/** Failures recorded by the format during the current (synchronous) `validate` call. */
let failures: Failure[] | undefined;

convict.addFormat({
  name: FORMAT,
  validate(value: unknown, schema: convict.SchemaObj) {
    const spec = schema.berth as LeafSpec;
    const problem = checkValue(spec.shape, value, spec.secret);
    if (!problem) return;
    const key = problem.path.reduce<string>((k, segment) => joinKey(k, segment), spec.key);
    failures?.push({ key, message: problem.message });
    throw new Error(problem.message);
  },
});

/** Normalizes, validates and defaults one struct; durations come out as milliseconds. */
export function resolveStruct(shape: StructShape, raw: RawNode | Plain | undefined, key: string, ctx: NormalizeContext): Record<string, unknown> {
  const normalized = normalizeStruct(shape, raw as RawNode | undefined, key, ctx);
  if (Object.keys(shape.fields).length === 0) return {};
  const config = convict(schemaOf(shape, key) as convict.Schema<Record<string, unknown>>, { env: {}, args: [] });
  config.load(toConvict(shape, normalized, key));
  failures = [];
  try {
    config.validate({ allowed: 'strict', output: () => undefined });
  } catch (error) {
    const [first] = failures;
    if (first) throw new ConfigError(first.key, first.message);
    const line = (error as Error).message.split('\n')[0] ?? '';
    const undeclared = /configuration param '(.+)' not declared in the schema/.exec(line);
    if (undeclared) throw new ConfigError(joinKey(key, undeclared[1] as string), 'unknown key');
    throw new ConfigError(key || 'config', line);
  } finally {
    failures = undefined;
  }
  return finishStruct(shape, config.getProperties(), key, ctx);
}

function schemaOf(shape: StructShape, key: string): Record<string, unknown> {
  const schema: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(shape.fields)) {
    const fieldKey = joinKey(key, name);
    if (f.shape.kind === 'selector') continue;
    if (f.shape.kind === 'struct') {
      if (Object.keys(f.shape.fields).length > 0) schema[name] = schemaOf(f.shape, fieldKey);
      continue;
    }
    schema[name] = {
      default: defaultOf(f),
      format: FORMAT,
      sensitive: f.secret === true,
      berth: { key: fieldKey, shape: f.shape, secret: f.secret === true } satisfies LeafSpec,
    };
  }
  return schema;
}

function defaultOf(f: Field): unknown {
  if (f.default === undefined) return f.shape.kind === 'list' ? [] : undefined;
  return f.shape.kind === 'map' ? Object.entries(f.default as object) : f.default;
}

function toConvict(shape: StructShape, value: { [key: string]: Plain }, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    const f = shape.fields[name] as Field;
    if (f.shape.kind === 'selector') continue;
    if (f.shape.kind === 'struct' && isObject(v)) out[name] = toConvict(f.shape, v, joinKey(key, name));
    else if (f.shape.kind === 'map' && isObject(v)) out[name] = Object.entries(v);
    else if (isObject(v)) {
      // convict would walk into a mapping found where a value belongs and report the wrong thing.
      const problem = checkValue(f.shape, v, f.secret === true);
      throw new ConfigError(joinKey(key, name), problem?.message ?? 'must not be a mapping');
    } else out[name] = v;
  }
  return out;
}

function finishStruct(shape: StructShape, value: Record<string, unknown>, key: string, ctx: NormalizeContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(shape.fields)) {
    // Selectors are resolved elsewhere; nested keys Berth ignores are validated, then dropped (the
    // top-level compatibility sections such as `redis` stay, as untyped records).
    if (f.shape.kind === 'selector' || (f.ignored && key !== '')) continue;
    const fieldKey = joinKey(key, name);
    if (f.shape.kind === 'struct') {
      out[name] = Object.keys(f.shape.fields).length === 0 ? {} : finishStruct(f.shape, (value[name] ?? {}) as Record<string, unknown>, fieldKey, ctx);
      continue;
    }
    const v = value[name];
    if (v === undefined) continue;
    out[name] = finish(f.shape, f.shape.kind === 'map' ? Object.fromEntries(v as [string, unknown][]) : v, fieldKey, ctx);
  }
  return out;
}

/** Converts validated values into their final form (durations in ms, nested structs resolved). */
function finish(shape: Shape, value: unknown, key: string, ctx: NormalizeContext): unknown {
  if (isLeaf(shape)) {
    return shape.kind === 'duration' || shape.kind === 'durationString' ? durationToMs(value as string | number) : value;
  }
  switch (shape.kind) {
    case 'struct':
      return resolveStruct(shape, value as Plain, key, ctx);
    case 'list':
      return (value as unknown[]).map((v, i) => finish(shape.elem, v, joinKey(key, i), ctx));
    case 'map':
      return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, finish(shape.elem, v, joinKey(key, k), ctx)]));
    default:
      return value;
  }
}

const isObject = (v: unknown): v is { [key: string]: Plain } => typeof v === 'object' && v !== null && !Array.isArray(v);

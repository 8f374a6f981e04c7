import { ConfigError, joinKey } from './errors';
import { isRawMap, newRawMap, parseYaml, RawScalar, type RawMap, type RawNode } from './raw';
import { fieldBySegment, type Shape, type StructShape } from './shape';

/** Environment variables with this prefix override configuration keys. */
export const ENV_PREFIX = 'REGISTRY_';
/** Names the configuration file (read by the cli); not a configuration key. */
export const CONFIGURATION_PATH_VAR = 'REGISTRY_CONFIGURATION_PATH';

/**
 * Applies `REGISTRY_*` variables to the raw tree the way distribution's `configuration/parser.go`
 * does:
 * - variables are applied in lexical (byte) order of their names, so `REGISTRY_STORAGE=s3` is
 *   applied before `REGISTRY_STORAGE_S3_BUCKET`;
 * - the name minus the prefix is split on `_`; each segment walks the tree: a struct field matches its
 *   YAML key or its Go field name in any case; a slice takes a numeric index (equal to the length
 *   appends, beyond it is an "undefined index" error); a map matches an existing key in any case and
 *   otherwise creates it lower-cased (header names keep their case); missing maps are created;
 * - the value is read as YAML (`true` is a boolean, `[a,b]` a list, `10s` a string that later
 *   becomes a duration) and replaces what it addresses; `REGISTRY_STORAGE=s3` and
 *   `REGISTRY_AUTH=htpasswd` replace the whole section with `{s3: {}}` / `{htpasswd: {}}`;
 * - a variable naming no known field is ignored with a warning; a scalar over a section that must be a
 *   mapping (or a list) is an error.
 * Two deliberate differences, both fixing distribution bugs: a list element of a scalar type is set
 * (distribution appends an empty element and drops the value), and nested maps that came from the
 * YAML file can be overridden (distribution ignores them: they decode as `map[interface{}]interface{}`).
 */
export function applyEnvOverrides(root: RawMap, rootShape: StructShape, env: NodeJS.ProcessEnv, warnings: string[]): void {
  const names = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && name !== CONFIGURATION_PATH_VAR && env[name] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const segments = name.slice(ENV_PREFIX.length).split('_');
    const walker = new EnvWalker(name, env[name] as string, warnings);
    walker.struct(rootShape, { parent: { root }, key: 'root' }, segments, '');
  }
}

/** Where a value lives: `parent[key]`. */
interface Slot {
  parent: RawMap | RawNode[] | { root: RawMap };
  key: string | number;
}

const get = (slot: Slot): RawNode | undefined => (slot.parent as Record<string | number, RawNode | undefined>)[slot.key];
const set = (slot: Slot, value: RawNode): void => {
  (slot.parent as Record<string | number, RawNode>)[slot.key] = value;
};

class EnvWalker {
  constructor(
    private readonly name: string,
    private readonly payload: string,
    private readonly warnings: string[],
  ) {}

  /** Walks `segments` starting at a value of `shape` stored in `slot`; `key` is its dotted path. */
  walk(shape: Shape, slot: Slot, segments: string[], key: string): void {
    switch (shape.kind) {
      case 'struct':
        return this.struct(shape, slot, segments, key);
      case 'selector':
        return this.map(slot, segments, key, (k) => shape.known[k] ?? { kind: 'map', elem: { kind: 'any' } }, false);
      case 'map':
        return this.map(slot, segments, key, () => shape.elem, shape.preserveCase === true);
      case 'list':
        return this.list(shape.elem, slot, segments, key);
      case 'any':
        return this.any(slot, segments, key);
      default:
        // A scalar field with more segments left: nothing to address.
        this.ignore(`${key} is not a section`);
    }
  }

  struct(shape: StructShape, slot: Slot, segments: string[], key: string): void {
    const [segment, ...rest] = segments as [string, ...string[]];
    const found = fieldBySegment(shape, segment);
    if (!found) return this.ignore(`no configuration key ${joinKey(key, segment.toLowerCase())}`);
    const [name, field] = found;
    const container = this.container(slot, key, 'mapping') as RawMap;
    const child: Slot = { parent: container, key: name };
    const childKey = joinKey(key, name);
    if (rest.length === 0) return set(child, this.value(field.shape, childKey));
    this.walk(field.shape, child, rest, childKey);
  }

  map(slot: Slot, segments: string[], key: string, elemOf: (key: string) => Shape, preserveCase: boolean): void {
    const [segment, ...rest] = segments as [string, ...string[]];
    const container = this.container(slot, key, 'mapping') as RawMap;
    const existing = Object.keys(container).find((k) => k.toUpperCase() === segment.toUpperCase());
    const name = existing ?? (preserveCase ? segment : segment.toLowerCase());
    const elem = elemOf(name);
    const child: Slot = { parent: container, key: name };
    const childKey = joinKey(key, name);
    if (rest.length === 0) return set(child, this.value(elem, childKey));
    const current = existing === undefined ? undefined : container[existing];
    if (current === undefined || current === null) set(child, emptyOf(elem));
    this.walk(elem, child, rest, childKey);
  }

  list(elem: Shape, slot: Slot, segments: string[], key: string): void {
    const [segment, ...rest] = segments as [string, ...string[]];
    const container = this.container(slot, key, 'list') as RawNode[];
    if (!/^\d+$/.test(segment)) throw new ConfigError(key, `${this.name}: non-numeric index "${segment}" into a list`);
    const index = Number(segment);
    if (index > container.length) {
      throw new ConfigError(key, `${this.name}: undefined index ${index} (the list has ${container.length} element(s); use ${container.length} to append)`);
    }
    if (index === container.length) container.push(emptyOf(elem));
    const child: Slot = { parent: container, key: index };
    const childKey = joinKey(key, index);
    if (rest.length === 0) return set(child, this.value(elem, childKey));
    this.walk(elem, child, rest, childKey);
  }

  /** Go `interface{}`: walks into what is there; nothing there becomes an implicit map. */
  any(slot: Slot, segments: string[], key: string): void {
    const current = get(slot);
    if (Array.isArray(current)) return this.list({ kind: 'any' }, slot, segments, key);
    if (current === undefined || current === null || isRawMap(current)) {
      return this.map(slot, segments, key, () => ({ kind: 'any' }), false);
    }
    this.ignore(`${key} holds a scalar`);
  }

  /** The value at `slot`, created if missing; a value of the wrong kind is an error. */
  private container(slot: Slot, key: string, kind: 'mapping' | 'list'): RawMap | RawNode[] {
    const current = get(slot);
    if (current === undefined || current === null) {
      const created = kind === 'list' ? [] : newRawMap();
      set(slot, created);
      return created;
    }
    if (kind === 'list' ? Array.isArray(current) : isRawMap(current)) return current as RawMap | RawNode[];
    throw new ConfigError(key, `${this.name} cannot address inside ${key}: it must be a ${kind}`);
  }

  /** The variable's value read as YAML, checked against what the target must be. */
  private value(shape: Shape, key: string): RawNode {
    const parsed = parseYaml(this.payload, key, this.name);
    if (shape.kind === 'selector' && (typeof parsed === 'string' || parsed instanceof RawScalar)) {
      // distribution's Storage/Auth UnmarshalYAML: a bare name selects a driver/scheme with no parameters.
      const name = typeof parsed === 'string' ? parsed : parsed.text;
      const replaced = newRawMap();
      replaced[name] = newRawMap();
      return replaced;
    }
    if (parsed === null) return null;
    const wantsMap = shape.kind === 'struct' || shape.kind === 'map' || shape.kind === 'selector';
    if (wantsMap && !isRawMap(parsed)) throw new ConfigError(key, `${this.name} must be a YAML mapping: ${key} is a section, not a value`);
    if (shape.kind === 'list' && !Array.isArray(parsed)) throw new ConfigError(key, `${this.name} must be a YAML list such as [a, b]`);
    return parsed;
  }

  private ignore(reason: string): void {
    this.warnings.push(`ignoring unrecognized environment variable ${this.name} (${reason})`);
  }
}

/** The zero value distribution creates for a missing element. */
function emptyOf(shape: Shape): RawNode {
  if (shape.kind === 'list') return [];
  if (shape.kind === 'struct' || shape.kind === 'map' || shape.kind === 'selector') return newRawMap();
  return null;
}

/**
 * A small description language for distribution's configuration structure. One `Shape` tree drives
 * three things: the `REGISTRY_*` override walk (struct vs map vs slice, Go field names), the
 * type-directed reading of YAML scalars (a `string` field keeps the source text of `0123`), and the
 * convict schema (defaults, formats, secrets).
 */

/** Scalar kinds, named after the Go types distribution decodes into. */
export type LeafKind =
  | 'string'
  | 'bool'
  | 'int'
  /** Go `time.Duration`: a Go duration string (`1m30s`) or an integer number of nanoseconds. */
  | 'duration'
  /** A Go duration that distribution reads with `time.ParseDuration` from a string only. */
  | 'durationString'
  /** Go `interface{}`: any YAML value, kept as typed by YAML. */
  | 'any';

export interface LeafShape {
  readonly kind: LeafKind;
  /** Allowed values of a string leaf. */
  readonly enum?: readonly string[];
  /** Enum values are matched case-insensitively and stored lower-cased (distribution's `Loglevel`). */
  readonly lowerCase?: boolean;
  /** Smallest allowed integer. */
  readonly min?: number;
}

export interface ListShape {
  readonly kind: 'list';
  readonly elem: Shape;
}

/**
 * A Go map with string keys chosen by the user. A key created by a `REGISTRY_*` variable is
 * lower-cased, except in `http.Header` maps (`preserveCase`), whose names keep the variable's case.
 */
export interface MapShape {
  readonly kind: 'map';
  readonly elem: Shape;
  readonly preserveCase?: boolean;
}

/**
 * distribution's `Storage` and `Auth`: a `map[string]Parameters` that also accepts a bare string
 * (`storage: inmemory`, `REGISTRY_STORAGE=s3`) meaning `{<string>: {}}`. `known` gives the shapes of
 * fixed keys (storage's meta sections, auth schemes); any other key holds free-form parameters.
 */
export interface SelectorShape {
  readonly kind: 'selector';
  readonly known: Readonly<Record<string, StructShape>>;
}

export interface Field {
  readonly shape: Shape;
  /** Default in distribution's own notation (durations as Go strings). Absent: no default. */
  readonly default?: unknown;
  /** The Go field name when its upper case differs from the YAML key (`EventConfig` for `events`). */
  readonly goName?: string;
  /** Never printed: replaced by `<redacted>` and never echoed in an error. */
  readonly secret?: boolean;
  /** Accepted for compatibility with distribution; Berth does not act on it (a warning says so). */
  readonly ignored?: boolean;
  /**
   * Accepted by distribution but unsafe to ignore (ignoring it would weaken what the operator asked
   * for): setting it stops start-up with this explanation.
   */
  readonly refused?: string;
}

export interface StructShape {
  readonly kind: 'struct';
  readonly fields: Readonly<Record<string, Field>>;
}

export type Shape = LeafShape | ListShape | MapShape | SelectorShape | StructShape;

export const isLeaf = (shape: Shape): shape is LeafShape =>
  shape.kind !== 'list' && shape.kind !== 'map' && shape.kind !== 'selector' && shape.kind !== 'struct';

// Constructors keep schema.ts readable.
export const str = (): LeafShape => ({ kind: 'string' });
export const bool = (): LeafShape => ({ kind: 'bool' });
export const int = (min?: number): LeafShape => ({ kind: 'int', min });
export const duration = (): LeafShape => ({ kind: 'duration' });
export const durationString = (): LeafShape => ({ kind: 'durationString' });
export const any = (): LeafShape => ({ kind: 'any' });
export const oneOf = (values: readonly string[], lowerCase = false): LeafShape => ({ kind: 'string', enum: values, lowerCase });
export const list = (elem: Shape): ListShape => ({ kind: 'list', elem });
export const map = (elem: Shape, preserveCase = false): MapShape => ({ kind: 'map', elem, preserveCase });
export const struct = (fields: Record<string, Field | Shape>): StructShape => ({
  kind: 'struct',
  fields: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, 'shape' in f ? f : { shape: f }])),
});
/** A field with options: `field(int(), { default: 1000 })`. */
export const field = (shape: Shape, options: Omit<Field, 'shape'> = {}): Field => ({ shape, ...options });
/** An `http.Header`: header name → list of values, names keep their case. */
export const headers = (): MapShape => map(list(str()), true);

/** Finds a struct field by a `REGISTRY_*` segment: the YAML key or the Go field name, any case. */
export function fieldBySegment(shape: StructShape, segment: string): [string, Field] | undefined {
  const wanted = segment.toUpperCase();
  for (const [name, f] of Object.entries(shape.fields)) {
    if (name.toUpperCase() === wanted || f.goName?.toUpperCase() === wanted) return [name, f];
  }
  return undefined;
}

import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from './errors';

/**
 * The configuration as parsed, before validation: YAML 1.1 values (as Go's yaml.v2 reads them:
 * `yes`/`on` are booleans, `0123` is octal) with the source text of every non-string scalar kept,
 * because distribution decodes a scalar into a Go `string` field from its text (`secret: 0123` is
 * the string "0123", not 83). Environment overrides are applied to this tree.
 */
export class RawScalar {
  constructor(
    /** The value YAML resolved (number, boolean, Date...). */
    readonly value: unknown,
    /** The scalar as written. */
    readonly text: string,
  ) {}
}

export type RawMap = { [key: string]: RawNode };
export type RawNode = string | null | RawScalar | RawNode[] | RawMap;

export const isRawMap = (node: unknown): node is RawMap =>
  typeof node === 'object' && node !== null && !Array.isArray(node) && !(node instanceof RawScalar);

/** A fresh map with no prototype, so no key (not even `constructor`) collides with Object's. */
export const newRawMap = (): RawMap => Object.create(null) as RawMap;

/** Bounds alias expansion ("billion laughs"): no configuration needs this many nodes. */
const MAX_NODES = 200_000;

const YAML_OPTIONS = { version: '1.1', merge: true, uniqueKeys: true, prettyErrors: false } as const;

/**
 * Parses YAML text into a raw tree. A syntax error becomes a `ConfigError` under `errorKey` (the file,
 * or the key a `REGISTRY_*` variable addresses; `what` names the variable) whose message keeps only
 * the error's first line: later lines quote the source, which may hold secrets.
 */
export function parseYaml(text: string, errorKey: string, what?: string): RawNode {
  const doc = parseDocument(text, YAML_OPTIONS);
  const [error] = doc.errors;
  if (error) throw new ConfigError(errorKey, `${what ? `${what} is not` : 'not'} valid YAML: ${firstLine(error.message)}`);
  const budget = { nodes: 0 };
  return convert(doc.contents, doc, budget, errorKey, 0);
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/:\s*$/, '');
}

function convert(node: unknown, doc: Document, budget: { nodes: number }, errorKey: string, depth: number): RawNode {
  if (++budget.nodes > MAX_NODES || depth > 200) throw new ConfigError(errorKey, 'the YAML is too large or too deeply nested (alias expansion)');
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return convert(node.resolve(doc), doc, budget, errorKey, depth + 1);
  if (isScalar(node)) {
    const value = node.value;
    if (value === null || value === undefined) return null;
    if (typeof value === 'string') return value;
    return new RawScalar(value, node.source ?? String(value));
  }
  if (isSeq(node)) return node.items.map((item) => convert(item, doc, budget, errorKey, depth + 1));
  if (isMap(node)) {
    const explicit = newRawMap();
    const merged = newRawMap();
    for (const pair of node.items) {
      if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
        // `<<: *anchor` or `<<: [*a, *b]`: earlier sources win, explicit keys win over all.
        const source = convert(pair.value, doc, budget, errorKey, depth + 1);
        for (const part of Array.isArray(source) ? source : [source]) {
          if (!isRawMap(part)) throw new ConfigError(errorKey, 'a YAML merge key (<<) must refer to a mapping');
          for (const [k, v] of Object.entries(part)) if (!(k in merged)) merged[k] = v;
        }
        continue;
      }
      const key = keyText(pair.key as Node | null, errorKey);
      explicit[key] = convert(pair.value, doc, budget, errorKey, depth + 1);
    }
    for (const [k, v] of Object.entries(merged)) if (!(k in explicit)) explicit[k] = v;
    return explicit;
  }
  throw new ConfigError(errorKey, 'unsupported YAML node');
}

/** A mapping key as Go reads it into a string: the text as written (`on:` is "on", not true). */
function keyText(key: Node | null, errorKey: string): string {
  let text: string;
  if (key === null || key === undefined) text = '';
  else if (isScalar(key)) {
    const value = key.value;
    text = typeof value === 'string' ? value : value === null || value === undefined ? '' : (key.source ?? String(value));
  } else throw new ConfigError(errorKey, 'mapping keys must be plain scalars (complex YAML keys are not supported)');
  if (text === '__proto__') throw new ConfigError(errorKey, 'the key "__proto__" is not allowed');
  return text;
}

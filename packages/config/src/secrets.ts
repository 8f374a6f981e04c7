import type { DriverFactories } from '@berth/storage-driver';
import { ConfigError } from './errors';
import { isRawMap, RawScalar, type RawNode } from './raw';
import { REDACTED } from '@berth/logging';
import { ROOT, STORAGE_META } from './schema';
import type { Shape } from './shape';

/** Secrets shorter than this are not scrubbed from messages (they would mangle ordinary words). */
const MIN_SCRUB_LENGTH = 4;

/**
 * Every secret value present in the raw configuration (secret keys, header values of notification
 * endpoints, the storage driver's `secretParameters`), so that no error message can carry one even
 * if a check somewhere quotes a value it should not.
 */
export function collectSecrets(root: RawNode, drivers: DriverFactories): string[] {
  const out: string[] = [];
  walk(ROOT, root, false, out);
  const storage = isRawMap(root) ? root.storage : undefined;
  if (isRawMap(storage)) {
    for (const [driver, params] of Object.entries(storage)) {
      if (driver in STORAGE_META || !drivers.has(driver) || !isRawMap(params)) continue;
      const secretNames = (drivers.get(driver).secretParameters ?? []).map((s) => s.toLowerCase());
      for (const [k, v] of Object.entries(params)) if (secretNames.includes(k.toLowerCase())) texts(v, out);
    }
  }
  return out.filter((s) => s.length >= MIN_SCRUB_LENGTH);
}

export function scrubSecrets(error: ConfigError, secrets: readonly string[]): ConfigError {
  let problem = error.problem;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) problem = problem.split(secret).join(REDACTED);
  return problem === error.problem ? error : new ConfigError(error.key, problem);
}

function walk(shape: Shape, raw: RawNode | undefined, secret: boolean, out: string[]): void {
  if (raw === undefined || raw === null) return;
  if (secret) return texts(raw, out);
  if (shape.kind === 'struct' && isRawMap(raw)) {
    for (const [name, field] of Object.entries(shape.fields)) walk(field.shape, raw[name], field.secret === true, out);
  } else if (shape.kind === 'list' && Array.isArray(raw)) {
    for (const v of raw) walk(shape.elem, v, false, out);
  } else if (shape.kind === 'map' && isRawMap(raw)) {
    for (const v of Object.values(raw)) walk(shape.elem, v, false, out);
  }
}

function texts(raw: RawNode | undefined, out: string[]): void {
  if (raw === undefined || raw === null) return;
  if (typeof raw === 'string') out.push(raw);
  else if (raw instanceof RawScalar) out.push(raw.text);
  else if (Array.isArray(raw)) raw.forEach((v) => texts(v, out));
  else Object.values(raw).forEach((v) => texts(v, out));
}

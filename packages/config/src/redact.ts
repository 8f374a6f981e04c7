import { REDACTED, SECRET_LOOKING_KEY } from '@berth/logging';
import type { DriverFactories } from '@berth/storage-driver';
import { ROOT } from './schema';
import type { Shape } from './shape';
import type { BerthConfig } from './types';

/**
 * A copy of the configuration safe to log: secret keys (`http.secret`, `proxy.password`, redis and
 * SMTP passwords, reporting keys), the storage driver's `secretParameters`, every value of a
 * notification or health-check header, and free-form keys that look like credentials are replaced by
 * `"<redacted>"` when set. Unset secrets stay empty, so the output still shows what is configured.
 */
export function redactConfig(config: BerthConfig, drivers: DriverFactories): unknown {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  redactShaped(ROOT, copy);

  const storage = copy.storage as { driver: string; parameters: Record<string, unknown> };
  const declared = drivers.has(storage.driver) ? (drivers.get(storage.driver).secretParameters ?? []) : [];
  const isSecret = (key: string): boolean => declared.some((d) => d.toLowerCase() === key.toLowerCase()) || SECRET_LOOKING_KEY.test(key);
  storage.parameters = redactFreeForm(storage.parameters, isSecret) as Record<string, unknown>;

  const auth = copy.auth as { parameters: Record<string, unknown> };
  auth.parameters = redactFreeForm(auth.parameters, (k) => SECRET_LOOKING_KEY.test(k)) as Record<string, unknown>;
  return copy;
}

function redactShaped(shape: Shape, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  switch (shape.kind) {
    case 'struct': {
      const record = value as Record<string, unknown>;
      for (const [name, field] of Object.entries(shape.fields)) {
        if (!(name in record)) continue;
        record[name] = field.secret ? redactSecret(record[name]) : redactShaped(field.shape, record[name]);
      }
      return record;
    }
    case 'list':
      return (value as unknown[]).map((v) => redactShaped(shape.elem, v));
    case 'map': {
      if (shape.elem.kind === 'any') return redactFreeForm(value, (k) => SECRET_LOOKING_KEY.test(k));
      const record = value as Record<string, unknown>;
      for (const [k, v] of Object.entries(record)) record[k] = redactShaped(shape.elem, v);
      return record;
    }
    case 'any':
      return redactFreeForm(value, (k) => SECRET_LOOKING_KEY.test(k));
    default:
      return value;
  }
}

/** A secret field: a set string is replaced; a map or list has each of its values replaced. */
function redactSecret(value: unknown): unknown {
  if (typeof value === 'string') return value === '' ? value : REDACTED;
  if (Array.isArray(value)) return value.map(redactSecret);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecret(v)]));
  }
  return value === undefined || value === null ? value : REDACTED;
}

function redactFreeForm(value: unknown, isSecret: (key: string) => boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => redactFreeForm(v, isSecret));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, isSecret(k) && v !== '' && v !== null && v !== undefined ? REDACTED : redactFreeForm(v, isSecret)]),
  );
}

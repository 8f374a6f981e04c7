import { describeType, describeValue } from './errors';
import { parseGoDurationNs } from './duration';
import type { Shape } from './shape';

/** A type problem at `path` (segments below the checked key). */
export interface Problem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * Checks a normalized value against a shape; returns the first problem. Structs are only checked to
 * be mappings: their fields are checked by their own convict pass. Secret values are never quoted.
 */
export function checkValue(shape: Shape, value: unknown, secret = false): Problem | undefined {
  const got = (): string => (secret ? describeType(value) : describeValue(value));
  const fail = (message: string): Problem => ({ path: [], message });
  switch (shape.kind) {
    case 'string':
      if (typeof value !== 'string') return fail(`must be a string, got ${describeType(value)}`);
      if (shape.enum && !shape.enum.includes(value)) return fail(`must be one of ${shape.enum.join(', ')}, got ${got()}`);
      return undefined;
    case 'bool':
      return typeof value === 'boolean' ? undefined : fail(`must be true or false, got ${got()}`);
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return fail(`must be an integer, got ${got()}`);
      if (shape.min !== undefined && value < shape.min) return fail(`must be at least ${shape.min}, got ${value}`);
      return undefined;
    case 'duration':
      if (typeof value === 'number') {
        if (!Number.isSafeInteger(value)) return fail(`must be a Go duration such as 10s or 1h30m, or an integer number of nanoseconds, got ${got()}`);
        return value < 0 ? fail('must not be negative') : undefined;
      }
      return checkDurationString(value, got);
    case 'durationString':
      return checkDurationString(value, got);
    case 'any':
      return undefined;
    case 'list': {
      if (!Array.isArray(value)) return fail(`must be a list, got ${describeType(value)}`);
      for (const [i, element] of value.entries()) {
        const problem = checkValue(shape.elem, element, secret);
        if (problem) return { path: [i, ...problem.path], message: problem.message };
      }
      return undefined;
    }
    case 'map': {
      // Maps travel through convict as [key, value] entries (see resolve.ts).
      if (!Array.isArray(value)) return fail(`must be a mapping, got ${describeType(value)}`);
      for (const [k, element] of value as [string, unknown][]) {
        const problem = checkValue(shape.elem, element, secret);
        if (problem) return { path: [k, ...problem.path], message: problem.message };
      }
      return undefined;
    }
    case 'struct':
    case 'selector':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? undefined : fail(`must be a mapping, got ${describeType(value)}`);
  }
}

function checkDurationString(value: unknown, got: () => string): Problem | undefined {
  const message = 'must be a Go duration such as 10s, 1h30m or 168h';
  if (typeof value !== 'string') return { path: [], message: `${message}, got ${describeType(value)}` };
  const ns = parseGoDurationNs(value);
  if (ns === undefined) return { path: [], message: `${message}, got ${got()}` };
  return ns < 0 ? { path: [], message: 'must not be negative' } : undefined;
}

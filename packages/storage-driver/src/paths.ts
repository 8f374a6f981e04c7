import { InvalidPathError } from './errors';

/** The path grammar every driver accepts: `/seg/seg`, segments of `[A-Za-z0-9._-]`. */
export const PATH_REGEXP = /^(\/[A-Za-z0-9._-]+)+$/;

/** True for a file path in the grammar, with no `.` or `..` segment (nothing can escape a root). */
export function isValidPath(path: string): boolean {
  if (!PATH_REGEXP.test(path)) return false;
  for (const segment of path.split('/')) {
    if (segment === '.' || segment === '..') return false;
  }
  return true;
}

/** Throws `InvalidPathError` unless `path` is valid (or `/` where `allowRoot`). */
export function assertValidPath(driver: string, path: string, allowRoot = false): void {
  if (typeof path === 'string' && (isValidPath(path) || (allowRoot && path === '/'))) return;
  throw new InvalidPathError(driver, String(path));
}

/** The parent directory of a valid path (`/a/b` → `/a`, `/a` → `/`). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Joins a directory and a child name (`/` + `a` → `/a`). */
export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** True when `path` is `dir` itself or lies below it (`/a/b` is below `/a`; `/ab` is not). */
export function isWithin(dir: string, path: string): boolean {
  return dir === '/' || path === dir || path.startsWith(dir + '/');
}

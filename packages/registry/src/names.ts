import { NameInvalidError, TagInvalidError } from './errors';

/** One path component of a repository name (OCI distribution-spec). */
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';

/** A whole repository name: components separated by `/`. */
export const NAME_REGEXP = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

/** A tag (OCI distribution-spec). */
export const TAG_REGEXP = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Repository names longer than this are rejected (the spec's limit on `<host>/<name>` clients enforce). */
export const MAX_NAME_LENGTH = 255;

/** Throws `NameInvalidError` unless `name` is a valid repository name. */
export function assertRepositoryName(name: string): void {
  if (typeof name !== 'string' || name === '') throw new NameInvalidError(String(name), 'empty');
  if (name.length > MAX_NAME_LENGTH) {
    throw new NameInvalidError(name, `longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (/[A-Z]/.test(name)) throw new NameInvalidError(name, 'upper-case letters are not allowed');
  if (!NAME_REGEXP.test(name)) {
    throw new NameInvalidError(name, 'must match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*');
  }
}

export function isRepositoryName(name: string): boolean {
  return typeof name === 'string' && name.length <= MAX_NAME_LENGTH && NAME_REGEXP.test(name);
}

/** Throws `TagInvalidError` unless `tag` is a valid tag. */
export function assertTag(tag: string): void {
  if (typeof tag !== 'string' || !TAG_REGEXP.test(tag)) throw new TagInvalidError(String(tag));
}

export function isTag(tag: string): boolean {
  return typeof tag === 'string' && TAG_REGEXP.test(tag);
}

/** Upload session ids: the lower-case UUIDs Berth (and distribution) generate. */
export const UPLOAD_ID_REGEXP = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

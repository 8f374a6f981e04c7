import { Digest, pathFor, type PathSpec } from '@berth/registry';
import { PathNotFoundError, type StorageDriver } from '@berth/storage-driver';

/** True when the storage location exists. */
export async function exists(driver: StorageDriver, spec: PathSpec): Promise<boolean> {
  try {
    await driver.stat(pathFor(spec));
    return true;
  } catch (error) {
    if (error instanceof PathNotFoundError) return false;
    throw error;
  }
}

/** The digest a link holds, or undefined. */
export async function readLink(driver: StorageDriver, spec: PathSpec): Promise<string | undefined> {
  try {
    return (await driver.getContent(pathFor(spec))).toString();
  } catch (error) {
    if (error instanceof PathNotFoundError) return undefined;
    throw error;
  }
}

/** What the cache holds for one blob of a repository: its data, and its `_layers` link. */
export async function blobState(driver: StorageDriver, name: string, digest: string): Promise<{ data: boolean; link: boolean }> {
  const d = Digest.parse(digest);
  return { data: await exists(driver, { kind: 'blobData', digest: d }), link: await exists(driver, { kind: 'layerLink', name, digest: d }) };
}

/** Upload sessions left in a repository (`_uploads/<id>`). */
export async function uploadSessions(driver: StorageDriver, name: string): Promise<string[]> {
  try {
    return await driver.list(pathFor({ kind: 'uploads', name }));
  } catch (error) {
    if (error instanceof PathNotFoundError) return [];
    throw error;
  }
}

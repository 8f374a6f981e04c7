import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import type { Logger } from '@berth/logging';
import { syncDirectory } from './journal';

/** Who owns a slot: written to `owner.json` when the slot is created; its mtime is the heartbeat. */
export interface SlotOwner {
  readonly instanceID: string;
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
}

const OWNER_FILE = 'owner.json';
/** Present in a slot its owner left on purpose (graceful close with events still pending). */
const RELEASED_FILE = 'released';
/** Directory name prefix, inside a slot, of a slot it took over. */
export const ADOPTED_PREFIX = 'adopted-';
const JOURNAL_SUFFIX = '.journal';

/** Instance ids of the notifiers alive in this process (so two of them never take each other's slot). */
const liveInProcess = new Set<string>();

/** The journal file name of an endpoint (its name, percent-encoded; never `.` or `..`). */
export function journalFileName(endpoint: string): string {
  return `${encodeURIComponent(endpoint).replace(/\./g, '%2E').replace(/\*/g, '%2A')}${JOURNAL_SUFFIX}`;
}

/** A journal found in a slot tree, deepest (oldest) adopted slots first. */
export interface FoundJournal {
  readonly endpoint: string;
  readonly path: string;
}

/** Every journal under `dir`, recursing into the slots it had adopted; nested (older) ones first. */
export async function findJournals(dir: string): Promise<FoundJournal[]> {
  const nested: FoundJournal[] = [];
  const own: FoundJournal[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.startsWith(ADOPTED_PREFIX)) nested.push(...(await findJournals(join(dir, entry.name))));
    else if (entry.isFile() && entry.name.endsWith(JOURNAL_SUFFIX)) {
      let endpoint: string;
      try {
        endpoint = decodeURIComponent(entry.name.slice(0, -JOURNAL_SUFFIX.length));
      } catch {
        continue;
      }
      own.push({ endpoint, path: join(dir, entry.name) });
    }
  }
  return [...nested, ...own];
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

/** True when process `pid` exists on this host. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

/**
 * The spool directory shared by every registry process configured with it (one host, or several
 * replicas on a shared volume). Each process owns one slot, `<root>/<instanceID>/`, holding one
 * journal per endpoint and `owner.json`, whose mtime it refreshes every heartbeat. A slot is
 * adoptable when its owner released it (graceful close with events pending), or is gone: on this
 * host its pid no longer exists, elsewhere its heartbeat is older than `staleAfterMs`. Adopting is
 * one atomic `rename` of the slot into the adopter's own slot (`adopted-<id>/`), so of several
 * replicas racing for a dead slot exactly one gets it; and if the adopter dies before it has
 * re-spooled and deleted it, the next adopter of its slot finds it nested there.
 */
export class SpoolDirectory {
  readonly slotPath: string;

  constructor(
    readonly root: string,
    private readonly instanceID: string,
    private readonly staleAfterMs: number,
    private readonly logger: Logger,
  ) {
    this.slotPath = join(root, instanceID);
  }

  /** Creates this process's slot (atomically: built under a dot-name, then renamed into place). */
  async claim(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const building = join(this.root, `.new-${this.instanceID}`);
    await rm(building, { recursive: true, force: true });
    await mkdir(building);
    const owner: SlotOwner = { instanceID: this.instanceID, pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
    await writeFile(join(building, OWNER_FILE), `${JSON.stringify(owner)}\n`);
    await rename(building, this.slotPath);
    await syncDirectory(this.root);
    liveInProcess.add(this.instanceID);
  }

  /** Refreshes the heartbeat; false when the slot is gone (another process adopted it: this one stalled). */
  async heartbeat(): Promise<boolean> {
    const now = new Date();
    try {
      await utimes(join(this.slotPath, OWNER_FILE), now, now);
      return true;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false;
      throw error;
    }
  }

  /** Names of the slots this process may adopt now. */
  async adoptable(): Promise<string[]> {
    const names: string[] = [];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === this.instanceID) continue;
      const path = join(this.root, entry.name);
      if (entry.name.startsWith('.new-')) {
        // A slot whose creation was cut short holds nothing but owner.json.
        if (await this.olderThanStale(path)) await rm(path, { recursive: true, force: true }).catch(() => undefined);
        continue;
      }
      if (entry.name.startsWith('.')) continue;
      if (await this.isAdoptable(path)) names.push(entry.name);
    }
    return names;
  }

  /**
   * Takes slot `name` over: moves it into this process's slot and returns its new path, or
   * undefined when another process was faster.
   */
  async take(name: string): Promise<string | undefined> {
    const target = join(this.slotPath, `${ADOPTED_PREFIX}${name}`);
    try {
      await rename(join(this.root, name), target);
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'EEXIST', 'ENOTEMPTY')) return undefined;
      throw error;
    }
    await syncDirectory(this.slotPath);
    await syncDirectory(this.root);
    return target;
  }

  /**
   * Gives the slot up at close: deleted when nothing is pending, else marked released, so the
   * next process to start on this directory adopts it at once.
   */
  async release(empty: boolean): Promise<void> {
    liveInProcess.delete(this.instanceID);
    if (empty) await rm(this.slotPath, { recursive: true, force: true });
    else {
      try {
        await writeFile(join(this.slotPath, RELEASED_FILE), `${new Date().toISOString()}\n`);
        await syncDirectory(this.slotPath);
      } catch (error) {
        // Once this instance is no longer live, another one sharing the directory may adopt the
        // slot at any moment (its journals move with it): a slot already gone is released.
        if (!isErrno(error, 'ENOENT')) throw error;
      }
    }
  }

  private async isAdoptable(path: string): Promise<boolean> {
    if (await exists(join(path, RELEASED_FILE))) return true;
    let owner: SlotOwner;
    try {
      owner = JSON.parse(await readFile(join(path, OWNER_FILE), 'utf8')) as SlotOwner;
    } catch {
      return this.olderThanStale(path);
    }
    if (liveInProcess.has(owner.instanceID)) return false;
    if (owner.hostname === hostname()) {
      // Same host: a pid that is gone, or our own pid under another instance id (the previous life
      // of a restarted container), means the owner is dead.
      if (owner.pid === process.pid || !processExists(owner.pid)) {
        this.logger.debug('adopting the spool of a dead process on this host', { slot: owner.instanceID, pid: owner.pid });
        return true;
      }
    }
    return this.olderThanStale(join(path, OWNER_FILE));
  }

  private async olderThanStale(path: string): Promise<boolean> {
    try {
      return Date.now() - (await stat(path)).mtimeMs > this.staleAfterMs;
    } catch {
      return false;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

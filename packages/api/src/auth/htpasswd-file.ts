import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '@berth/logging';
import { AuthSetupError } from './types';

/** A bcrypt hash as htpasswd -B and others write it (`$2y$`, `$2b$`, `$2a$`), cost 4–31. */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/** The users of one version of the file, and the bcrypt cost most of them use. */
export interface HtpasswdEntries {
  readonly users: ReadonlyMap<string, string>;
  /** The most common cost (10 when there are no users): what a dummy hash for unknown users costs. */
  readonly typicalCost: number;
}

/**
 * Parses htpasswd text: `user:hash` lines; blank lines and `#` comments skipped. Only bcrypt
 * hashes are kept (distribution's rule); other lines are reported in `warnings` (by line number,
 * never with the hash) and ignored, so those users cannot log in.
 */
export function parseHtpasswd(text: string, path: string): { entries: HtpasswdEntries; warnings: string[] } {
  const users = new Map<string, string>();
  const warnings: string[] = [];
  const costs = new Map<number, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      warnings.push(`${path}:${index + 1}: not a user:hash line; ignored`);
      return;
    }
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    const match = BCRYPT.exec(hash);
    if (!match) {
      warnings.push(`${path}:${index + 1}: user ${JSON.stringify(user)} does not have a bcrypt hash (only bcrypt is supported, htpasswd -B); ignored`);
      return;
    }
    const cost = Number(match[1]);
    costs.set(cost, (costs.get(cost) ?? 0) + 1);
    users.set(user, hash);
  });
  let typicalCost = 10;
  let seen = 0;
  for (const [cost, count] of costs) {
    if (count > seen) [typicalCost, seen] = [cost, count];
  }
  return { entries: { users, typicalCost }, warnings };
}

function stamp(stats: Stats): string {
  return `${stats.mtimeMs}:${stats.ctimeMs}:${stats.size}:${stats.ino}`;
}

/**
 * An htpasswd file that follows its changes: `current()` stats the file and re-reads it when its
 * modification time, size or inode changed (so editing it in place or replacing it takes effect on
 * the next request, without a restart). If it cannot be read later on, the last good version stays
 * in force and a warning is logged once per change.
 */
export class HtpasswdFile {
  private entries: HtpasswdEntries;
  private seen: string;
  private reloading?: Promise<HtpasswdEntries>;
  /** Warnings of the version read at start-up. */
  readonly warnings: readonly string[];

  /** Reads the file now; a missing or unreadable file is an `AuthSetupError` naming `key`. */
  constructor(
    readonly path: string,
    private readonly key = 'auth.htpasswd.path',
  ) {
    try {
      const stats = statSync(path);
      const parsed = parseHtpasswd(readFileSync(path, 'utf8'), path);
      this.entries = parsed.entries;
      this.warnings = parsed.warnings;
      this.seen = stamp(stats);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new AuthSetupError(key, `cannot read the htpasswd file ${path}: ${reason} (create it with \`htpasswd -cB ${path} <user>\`)`);
    }
  }

  /** The users as last read, without looking at the file. */
  get loaded(): HtpasswdEntries {
    return this.entries;
  }

  /** The users as the file holds them now. */
  async current(logger: Logger): Promise<HtpasswdEntries> {
    let now: string;
    try {
      now = stamp(await stat(this.path));
    } catch (error) {
      return this.keep(`missing:${(error as NodeJS.ErrnoException).code}`, error, logger);
    }
    if (now === this.seen) return this.entries;
    this.reloading ??= this.reload(now, logger).finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async reload(now: string, logger: Logger): Promise<HtpasswdEntries> {
    try {
      const { entries, warnings } = parseHtpasswd(await readFile(this.path, 'utf8'), this.path);
      for (const warning of warnings) logger.warn(warning, { key: this.key });
      logger.info('htpasswd file changed: reloaded', { path: this.path, users: entries.users.size });
      this.entries = entries;
      this.seen = now;
      return entries;
    } catch (error) {
      return this.keep(now, error, logger);
    }
  }

  private keep(now: string, error: unknown, logger: Logger): HtpasswdEntries {
    if (now !== this.seen) {
      logger.warn('cannot read the htpasswd file: keeping the users read last', { path: this.path, error: (error as Error).message });
      this.seen = now;
    }
    return this.entries;
  }
}

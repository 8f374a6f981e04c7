import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@berth/logging';

/** A spooled event: its sequence number in the journal and its serialised wire form. */
export interface JournalEntry {
  readonly seq: number;
  readonly json: string;
}

/** What a journal file holds: its pending entries (in order) and how many lines were unreadable. */
export interface ReplayResult {
  readonly entries: JournalEntry[];
  /** Unreadable lines (a line cut by a crash in the middle of a write). */
  readonly corrupt: number;
  /** The highest sequence number seen (events or watermark), 0 for an empty journal. */
  readonly lastSeq: number;
}

/** Dead records (events at or below the watermark) before a compaction is worth it. */
const COMPACT_MIN_DEAD = 1024;
/** Pause before writing again after a write error (a full disk, a lost volume). */
const RETRY_AFTER_ERROR_MS = 1000;

/**
 * Reads a journal: one JSON record a line, `{"s":seq,"e":event}` for an event and `{"upto":seq}`
 * for "everything up to seq is done" (delivered or dropped). Pending = events above the last
 * watermark. A missing file is an empty journal.
 */
export async function replayJournal(path: string): Promise<ReplayResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], corrupt: 0, lastSeq: 0 };
    throw error;
  }
  const events: JournalEntry[] = [];
  let upto = 0;
  let lastSeq = 0;
  let corrupt = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let record: { s?: unknown; e?: unknown; upto?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      corrupt++;
      continue;
    }
    if (typeof record.upto === 'number') {
      upto = Math.max(upto, record.upto);
      lastSeq = Math.max(lastSeq, record.upto);
    } else if (typeof record.s === 'number' && typeof record.e === 'object' && record.e !== null) {
      events.push({ seq: record.s, json: JSON.stringify(record.e) });
      lastSeq = Math.max(lastSeq, record.s);
    } else corrupt++;
  }
  return { entries: events.filter((e) => e.seq > upto).sort((a, b) => a.seq - b.seq), corrupt, lastSeq };
}

/**
 * The append-only, crash-safe journal of one endpoint's queue, created empty (a process only ever
 * appends to the journals of its own spool slot; older journals are replayed, then deleted). Appends are group-committed: lines
 * written in the same tick (and while a write is in progress) go out in one `write` followed by
 * one `fdatasync`, off the request path. When dead records pile up the journal is rewritten from
 * the live entries (`live()`, the queue's in-memory state) to a temporary file that replaces it by
 * `rename`. A write error is logged and counted; the journal is then rewritten from memory at the
 * next attempt, so the file never misses an event the queue still holds.
 */
export class Journal {
  private handle: FileHandle | undefined;
  private lines: string[] = [];
  private pumping: Promise<void> | undefined;
  private rewriteWanted = false;
  /** Event records in the file that are done (at or below a watermark). */
  private dead = 0;
  private closing = false;
  private closed = false;
  /** Failed writes (each logged). */
  errors = 0;

  constructor(
    private path: string,
    private readonly live: () => readonly JournalEntry[],
    private readonly logger: Logger,
  ) {}

  /** Appends an event record. */
  appendEvent(entry: JournalEntry): void {
    this.push(`{"s":${entry.seq},"e":${entry.json}}\n`);
  }

  /** Records that every event up to `seq` is done; `count` of them were live until now. */
  markDone(seq: number, count: number): void {
    this.dead += count;
    this.push(`{"upto":${seq}}\n`);
    if (this.dead >= COMPACT_MIN_DEAD && this.dead >= this.live().length) this.rewriteWanted = true;
  }

  /**
   * Rewrites the journal from memory at `path` (when the slot moved), or in place. Used after the
   * spool slot was taken over by another process while this one was unresponsive.
   */
  relocate(path: string): void {
    this.path = path;
    this.rewriteWanted = true;
    this.schedule();
  }

  /** Resolves when every record pushed so far is on disk (or its write failed and was logged). */
  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /** True when everything pushed so far is on disk (no write pending, no failed write to repair). */
  get durable(): boolean {
    return !this.pumping && this.lines.length === 0 && !this.rewriteWanted;
  }

  /**
   * Flushes (one more try after a failed write, no more), then closes the file. Later appends are
   * ignored.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.flush();
    this.closed = true;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  private push(line: string): void {
    if (this.closed) return;
    this.lines.push(line);
    this.schedule();
  }

  private schedule(): void {
    if (this.pumping || this.closed) return;
    this.pumping = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.pump())
      .finally(() => {
        this.pumping = undefined;
        if ((this.lines.length > 0 || this.rewriteWanted) && !this.closed) this.schedule();
      });
  }

  private async pump(): Promise<void> {
    while (this.lines.length > 0 || this.rewriteWanted) {
      try {
        if (this.rewriteWanted) await this.rewrite();
        else await this.appendPending();
      } catch (error) {
        this.errors++;
        this.rewriteWanted = true;
        this.lines = [];
        await this.handle?.close().catch(() => undefined);
        this.handle = undefined;
        this.logger.error('cannot write the notification spool; events stay in memory and the spool is rewritten at the next attempt', {
          path: this.path,
          error: error instanceof Error ? error.message : String(error),
        });
        if (this.closing) return;
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_ERROR_MS));
      }
    }
  }

  private async appendPending(): Promise<void> {
    const text = this.lines.join('');
    this.lines = [];
    this.handle ??= await open(this.path, 'a');
    await this.handle.write(text);
    await this.handle.datasync();
  }

  /** Replaces the file with the live entries only (temporary file, fsync, rename, fsync of the directory). */
  private async rewrite(): Promise<void> {
    this.rewriteWanted = false;
    // The snapshot holds everything pushed so far: the buffered lines are part of it.
    const entries = this.live();
    this.lines = [];
    const temporary = `${this.path}.tmp`;
    const file = await open(temporary, 'w');
    try {
      await file.write(entries.map((e) => `{"s":${e.seq},"e":${e.json}}\n`).join(''));
      await file.datasync();
    } finally {
      await file.close();
    }
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await rename(temporary, this.path);
    await syncDirectory(dirname(this.path));
    this.dead = 0;
  }
}

/** fsyncs a directory so a rename or a new file in it survives a crash (best effort where unsupported). */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync().catch(() => undefined);
  } finally {
    await dir.close();
  }
}

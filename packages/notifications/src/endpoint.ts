import type { Logger } from '@berth/logging';
import { EventFilter, type IgnoreRules } from './filter';
import { Journal, type JournalEntry } from './journal';
import { postEnvelope } from './sender';
import { envelopeBody } from './wire';

/** One `notifications.endpoints[]` entry (durations in milliseconds; zero or absent means the default). */
export interface EndpointConfig extends IgnoreRules {
  readonly name: string;
  readonly disabled?: boolean;
  readonly url: string;
  readonly headers?: Readonly<Record<string, readonly string[]>>;
  /** Per attempt (default 1000). */
  readonly timeout?: number;
  /** Consecutive failures before backing off (default 10). */
  readonly threshold?: number;
  /** First back-off delay (default 1000), doubled per further failure up to `maxBackoffMs`. */
  readonly backoff?: number;
  /** The most undelivered events kept (default 10000); beyond it the oldest are dropped. */
  readonly maxpending?: number;
}

/** Delivery tuning shared by every endpoint. */
export interface DeliveryTuning {
  /** Cap of the doubling back-off (default 60 s, or `backoff` when that is larger). */
  readonly maxBackoffMs: number;
  /** Most events in one envelope. */
  readonly maxBatch: number;
}

/** Counters of one endpoint (monotonic since start, except `pending`). */
export interface EndpointStats {
  readonly name: string;
  readonly url: string;
  /** Events waiting for delivery (spooled). */
  readonly pending: number;
  /** Events accepted for this endpoint (after the ignore rules), including adopted ones. */
  readonly events: number;
  /** Events the ignore rules kept from this endpoint. */
  readonly ignored: number;
  /** Events the endpoint acknowledged (2xx/3xx). */
  readonly delivered: number;
  /** Failed attempts (a status other than 2xx/3xx, a network error, a timeout). */
  readonly failures: number;
  /** Events discarded because `maxpending` was reached (the oldest go first). */
  readonly dropped: number;
  /** Events taken over from the spool of a stopped or dead registry process. */
  readonly adopted: number;
  /** Failed writes to the spool (events stay queued in memory). */
  readonly spoolErrors: number;
  /** Attempts by HTTP status, plus `error` for attempts without one. */
  readonly statuses: Readonly<Record<string, number>>;
  /** The last failure's description, cleared by a delivery. */
  readonly lastError?: string;
}

const DEFAULTS = { timeout: 1000, threshold: 10, backoff: 1000, maxpending: 10000 };
/** Least time between two "still failing" or "dropping" warnings of one endpoint. */
const WARN_EVERY_MS = 30_000;

/**
 * The queue of one endpoint: bounded, journaled, delivered in the background by a single loop
 * (endpoints never wait on each other). Events leave in order, up to `maxBatch` per envelope; a
 * failed envelope is retried until it is delivered: at once for the first `threshold` consecutive
 * failures (distribution's breaker), then after `backoff`, doubling per further failure up to
 * `maxBackoffMs`. A delivery resets the count.
 */
export class EndpointQueue {
  readonly name: string;
  private readonly filter: EventFilter;
  private readonly config: Required<Pick<EndpointConfig, 'timeout' | 'threshold' | 'backoff' | 'maxpending'>>;
  private readonly entries: JournalEntry[] = [];
  private readonly journal: Journal;
  private readonly abort = new AbortController();
  private nextSeq = 1;
  private consecutiveFailures = 0;
  /** Ends an idle wait (a new event). */
  private wake: (() => void) | undefined;
  /** Ends any wait, idle or back-off (close). */
  private interrupt: (() => void) | undefined;
  private closing = false;
  private loop: Promise<void> | undefined;
  private lastFailureWarn = 0;
  private lastDropWarn = 0;
  private readonly counters = { events: 0, ignored: 0, delivered: 0, failures: 0, dropped: 0, adopted: 0 };
  private readonly statuses: Record<string, number> = {};
  private lastError: string | undefined;

  constructor(
    private readonly endpoint: EndpointConfig,
    journalPath: string,
    private readonly tuning: DeliveryTuning,
    private readonly logger: Logger,
  ) {
    this.name = endpoint.name;
    this.filter = new EventFilter(endpoint);
    const positive = (value: number | undefined, fallback: number): number => (value !== undefined && value > 0 ? value : fallback);
    this.config = {
      timeout: positive(endpoint.timeout, DEFAULTS.timeout),
      threshold: positive(endpoint.threshold, DEFAULTS.threshold),
      backoff: positive(endpoint.backoff, DEFAULTS.backoff),
      maxpending: positive(endpoint.maxpending, DEFAULTS.maxpending),
    };
    this.journal = new Journal(journalPath, () => this.entries, logger);
  }

  /** True when the ignore rules keep an event with this action and media type from the endpoint (counted). */
  ignores(action: string, mediaType: string | undefined): boolean {
    if (!this.filter.ignores(action, mediaType)) return false;
    this.counters.ignored++;
    return true;
  }

  /** Queues a serialised event: synchronous, never waits on disk or network. */
  enqueue(json: string, adopted = false): void {
    if (this.closing) return;
    if (this.entries.length >= this.config.maxpending) this.dropOldest();
    const entry = { seq: this.nextSeq++, json };
    this.entries.push(entry);
    this.journal.appendEvent(entry);
    this.counters.events++;
    if (adopted) this.counters.adopted++;
    this.wake?.();
  }

  /** Starts the delivery loop. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves when the spool holds every event queued so far, or a write failed (see `durable`). */
  flush(): Promise<void> {
    return this.journal.flush();
  }

  /** True when every queued event is on disk. */
  get durable(): boolean {
    return this.journal.durable;
  }

  /** Rewrites this endpoint's journal from memory at `path` (the spool slot was re-created). */
  relocate(path: string): void {
    this.journal.relocate(path);
  }

  /**
   * Stops delivering: a back-off wait is cut short, the attempt in flight may finish (it is
   * bounded by `timeout`) unless `abort` is set; then the journal is flushed and closed. Pending
   * events stay spooled (an aborted envelope is sent again after a restart).
   */
  async close(options: { abort?: boolean } = {}): Promise<void> {
    this.closing = true;
    if (options.abort) this.abort.abort();
    this.interrupt?.();
    await this.loop;
    await this.journal.close();
  }

  get pending(): number {
    return this.entries.length;
  }

  stats(): EndpointStats {
    return {
      name: this.name,
      url: this.endpoint.url,
      pending: this.entries.length,
      ...this.counters,
      spoolErrors: this.journal.errors,
      statuses: { ...this.statuses },
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  private dropOldest(): void {
    const dropped = this.entries.shift();
    if (!dropped) return;
    this.counters.dropped++;
    this.journal.markDone(dropped.seq, 1);
    const now = Date.now();
    if (now - this.lastDropWarn >= WARN_EVERY_MS) {
      this.lastDropWarn = now;
      this.logger.warn('notification queue full: dropping the oldest events', {
        endpoint: this.name,
        maxpending: this.config.maxpending,
        droppedSoFar: this.counters.dropped,
      });
    }
  }

  private async run(): Promise<void> {
    while (!this.closing) {
      if (this.entries.length === 0) {
        await this.sleep(Infinity, true);
        continue;
      }
      const wait = this.backoffDelay();
      if (wait > 0) {
        await this.sleep(wait, false);
        if (this.closing) break;
      }
      await this.attempt();
    }
  }

  /** Zero before `threshold` consecutive failures, then `backoff` doubling per failure, capped. */
  private backoffDelay(): number {
    const beyond = this.consecutiveFailures - this.config.threshold;
    if (beyond < 0) return 0;
    const cap = Math.max(this.tuning.maxBackoffMs, this.config.backoff);
    return Math.min(this.config.backoff * 2 ** Math.min(beyond, 30), cap);
  }

  private async attempt(): Promise<void> {
    const batch = this.entries.slice(0, this.tuning.maxBatch);
    const last = batch[batch.length - 1];
    if (!last) return;
    const body = envelopeBody(batch.map((e) => e.json));
    const result = await postEnvelope(this.endpoint.url, this.endpoint.headers ?? {}, body, this.config.timeout, this.abort.signal);
    const statusKey = result.status === undefined ? 'error' : String(result.status);
    this.statuses[statusKey] = (this.statuses[statusKey] ?? 0) + 1;
    if (result.ok) {
      // The batch was a prefix of the queue; the bound may have dropped part of it meanwhile.
      let done = 0;
      while (this.entries.length > 0 && (this.entries[0] as JournalEntry).seq <= last.seq) {
        this.entries.shift();
        done++;
      }
      this.counters.delivered += done;
      if (done > 0) this.journal.markDone(last.seq, done);
      if (this.consecutiveFailures > 0) {
        this.logger.info('notification endpoint delivering again', { endpoint: this.name, failedAttempts: this.consecutiveFailures });
      }
      this.consecutiveFailures = 0;
      this.lastError = undefined;
      return;
    }
    if (this.abort.signal.aborted) return;
    this.counters.failures++;
    this.consecutiveFailures++;
    this.lastError = result.error;
    const now = Date.now();
    if (this.consecutiveFailures === 1 || now - this.lastFailureWarn >= WARN_EVERY_MS) {
      this.lastFailureWarn = now;
      this.logger.warn('notification delivery failed; retrying', {
        endpoint: this.name,
        error: result.error,
        consecutiveFailures: this.consecutiveFailures,
        pending: this.entries.length,
        nextDelayMs: this.backoffDelay(),
      });
    }
  }

  /** Waits `ms`, or until close, or (when `untilEvent`) until an event is queued. */
  private sleep(ms: number, untilEvent: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.interrupt = undefined;
        resolve();
      };
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      this.interrupt = done;
      if (untilEvent) this.wake = done;
    });
  }
}

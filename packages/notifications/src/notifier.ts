import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { RegistryEvent, RegistryEventListener } from '@berth/api';
import type { Logger } from '@berth/logging';
import { EndpointQueue, type EndpointConfig, type EndpointStats } from './endpoint';
import { replayJournal } from './journal';
import { findJournals, journalFileName, SpoolDirectory } from './spool';
import { filterFields, toWireEvent } from './wire';

/** What `createNotifier` needs (the cli builds it from `notifications` in config.yml). */
export interface NotifierOptions {
  /** `notifications.endpoints`; disabled ones get no queue. Names must be unique. */
  readonly endpoints: readonly EndpointConfig[];
  /** `notifications.events.includereferences`. */
  readonly includeReferences?: boolean;
  /** `notifications.spooldir`: created when missing. */
  readonly spoolDir: string;
  readonly logger: Logger;
  /** `source.addr` of every event: `hostname:port` of this registry. */
  readonly sourceAddr: string;
  /** `source.instanceID` and the name of this process's spool slot (default: a random UUID). */
  readonly instanceId?: string;
  /** Heartbeat of the spool slot and scan for slots to adopt (default 10 s). */
  readonly heartbeatMs?: number;
  /** A slot of another host whose heartbeat is older than this is adopted (default 60 s). */
  readonly staleAfterMs?: number;
  /** Cap of the doubling back-off (default 60 s). */
  readonly maxBackoffMs?: number;
  /** Most events in one envelope (default 100). */
  readonly maxBatch?: number;
}

/** The notifier's counters, per endpoint. */
export interface NotifierStats {
  readonly instanceId: string;
  readonly spoolDir: string;
  readonly endpoints: readonly EndpointStats[];
}

/**
 * Webhook notifications (distribution's `notifications`, plus a durable, bounded queue). Pass it as
 * `AppOptions.events`: `onEvent` serialises the event once, applies each endpoint's ignore rules
 * and queues it per endpoint, synchronously. Each endpoint delivers in the background on its own,
 * from a journal in this process's slot of the spool directory; events still pending at close,
 * or left by a process that died, are sent by the next process that starts on the same directory
 * (at-least-once: an event may arrive twice, never silently vanish, except beyond `maxpending`).
 */
export class Notifier implements RegistryEventListener {
  readonly includeReferences: boolean;
  readonly instanceId: string;
  private readonly queues = new Map<string, EndpointQueue>();
  private readonly source: { addr: string; instanceID: string };
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private afterClose = 0;

  private constructor(
    options: NotifierOptions,
    instanceId: string,
    private readonly spool: SpoolDirectory,
    private readonly logger: Logger,
  ) {
    this.includeReferences = options.includeReferences ?? false;
    this.instanceId = instanceId;
    this.source = { addr: options.sourceAddr, instanceID: this.instanceId };
    const tuning = { maxBackoffMs: options.maxBackoffMs ?? 60_000, maxBatch: options.maxBatch ?? 100 };
    for (const endpoint of options.endpoints) {
      if (endpoint.disabled) continue;
      if (this.queues.has(endpoint.name)) throw new Error(`notification endpoint names must be unique: ${JSON.stringify(endpoint.name)} appears twice`);
      const path = join(spool.slotPath, journalFileName(endpoint.name));
      this.queues.set(endpoint.name, new EndpointQueue(endpoint, path, tuning, logger.child({ endpoint: endpoint.name })));
    }
  }

  /**
   * Claims a slot in the spool directory, takes over the events left there by stopped or dead
   * processes, and starts delivering. Rejects when the directory cannot be created or written.
   */
  static async create(options: NotifierOptions): Promise<Notifier> {
    const logger = options.logger.child({ component: 'notifications' });
    const instanceId = options.instanceId ?? randomUUID();
    const spool = new SpoolDirectory(options.spoolDir, instanceId, options.staleAfterMs ?? 60_000, logger);
    const notifier = new Notifier(options, instanceId, spool, logger);
    await spool.claim();
    try {
      await notifier.adoptAll();
    } catch (error) {
      await notifier.close();
      throw error;
    }
    for (const queue of notifier.queues.values()) queue.start();
    notifier.timer = setInterval(() => notifier.tick(), options.heartbeatMs ?? 10_000);
    notifier.timer.unref();
    logger.info('notifications started', { endpoints: [...notifier.queues.keys()], spoolDir: spool.slotPath, pending: notifier.pending() });
    return notifier;
  }

  /** Queues `event` for every endpoint whose ignore rules let it through. Never throws, never waits. */
  onEvent(event: RegistryEvent): void {
    if (this.closing) {
      if (this.afterClose++ === 0) this.logger.warn('an event arrived after notifications were closed: not sent', { action: event.action });
      return;
    }
    let json: string | undefined;
    for (const queue of this.queues.values()) {
      if (queue.ignores(event.action, event.target.mediaType)) continue;
      json ??= JSON.stringify(toWireEvent(event, randomUUID(), this.source, this.includeReferences));
      queue.enqueue(json);
    }
  }

  /** Counters per endpoint, for metrics. */
  stats(): NotifierStats {
    return { instanceId: this.instanceId, spoolDir: this.spool.slotPath, endpoints: [...this.queues.values()].map((q) => q.stats()) };
  }

  /** Resolves when every event queued so far is in the spool on disk. */
  async flush(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.flush()));
  }

  /**
   * Stops: no further deliveries (the attempts in flight finish within their `timeout`, or are cut
   * with `abort`), every queued event is written to the spool, and the slot is deleted when
   * nothing is pending or released for the next process otherwise. Idempotent.
   */
  close(options: { abort?: boolean } = {}): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      await this.ticking;
      await Promise.all([...this.queues.values()].map((q) => q.close(options)));
      const pending = this.pending();
      await this.spool.release(pending === 0);
      this.logger.info('notifications stopped', { pending, spoolDir: this.spool.slotPath });
    })();
    return this.closing;
  }

  private pending(): number {
    let total = 0;
    for (const queue of this.queues.values()) total += queue.pending;
    return total;
  }

  /** One heartbeat: refresh the slot (re-create it if another process took it), then adopt. */
  private tick(): void {
    if (this.ticking || this.closing) return;
    this.ticking = (async () => {
      if (!(await this.spool.heartbeat())) {
        this.logger.warn('the notification spool slot was taken over (this process stalled longer than the stale limit): re-spooling pending events; some may be delivered twice', {
          slot: this.spool.slotPath,
        });
        await this.spool.claim();
        for (const queue of this.queues.values()) queue.relocate(join(this.spool.slotPath, journalFileName(queue.name)));
      }
      await this.adoptAll();
    })()
      .catch((error: unknown) => {
        this.logger.error('notification spool maintenance failed', { error: error instanceof Error ? error.message : String(error) });
      })
      .finally(() => {
        this.ticking = undefined;
      });
  }

  /** Adopts every adoptable slot: re-queues its events here, makes them durable, deletes it. */
  private async adoptAll(): Promise<void> {
    for (const name of await this.spool.adoptable()) {
      const path = await this.spool.take(name);
      if (path) await this.drain(path, name);
    }
  }

  private async drain(path: string, slot: string): Promise<void> {
    let adopted = 0;
    let ignored = 0;
    let corrupt = 0;
    const orphaned = new Map<string, number>();
    for (const journal of await findJournals(path)) {
      const replay = await replayJournal(journal.path);
      corrupt += replay.corrupt;
      const queue = this.queues.get(journal.endpoint);
      if (!queue) {
        if (replay.entries.length > 0) orphaned.set(journal.endpoint, (orphaned.get(journal.endpoint) ?? 0) + replay.entries.length);
        continue;
      }
      for (const entry of replay.entries) {
        const fields = filterFields(entry.json);
        if (!fields) corrupt++;
        else if (queue.ignores(fields.action, fields.mediaType)) ignored++;
        else {
          queue.enqueue(entry.json, true);
          adopted++;
        }
      }
    }
    await this.flush();
    if (![...this.queues.values()].every((q) => q.durable)) {
      // Keep the adopted slot until the events are safely in ours (a later adopter may send some twice).
      this.logger.warn('could not write adopted notifications to the spool; keeping the adopted slot', { slot, path });
      return;
    }
    await rm(path, { recursive: true, force: true });
    if (adopted + ignored + corrupt + orphaned.size > 0) {
      this.logger.info('took over the pending notifications of a stopped registry process', { slot, adopted, ignored });
    }
    if (corrupt > 0) this.logger.warn('unreadable records in an adopted notification spool were skipped', { slot, corrupt });
    for (const [endpoint, count] of orphaned) {
      this.logger.warn('discarded spooled notifications for an endpoint that is no longer configured or is disabled', { slot, endpoint, events: count });
    }
  }
}

/** Creates and starts a notifier (see `Notifier.create`). */
export function createNotifier(options: NotifierOptions): Promise<Notifier> {
  return Notifier.create(options);
}

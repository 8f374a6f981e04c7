import { Counter, Gauge, type Registry } from 'prom-client';

/** The counters of one notification endpoint that the metrics read (a subset of @berth/notifications' `EndpointStats`). */
export interface EndpointStatsLike {
  readonly name: string;
  /** Events waiting for delivery. */
  readonly pending: number;
  /** Events accepted for the endpoint (monotonic). */
  readonly events: number;
  /** Events the endpoint acknowledged (monotonic). */
  readonly delivered: number;
  /** Failed delivery attempts (monotonic). */
  readonly failures: number;
  /** Events discarded because the queue was full (monotonic). */
  readonly dropped: number;
  /** Attempts by HTTP status code, plus `error` for attempts without one (monotonic). */
  readonly statuses: Readonly<Record<string, number>>;
}

/** Anything with the notifier's `stats()` (the `Notifier` of @berth/notifications). */
export interface NotificationStatsSource {
  stats(): { readonly endpoints: readonly EndpointStatsLike[] };
}

/**
 * `registry_notifications_*`: read from the notifier's `stats()` at each scrape (the notifier keeps
 * the counts; these only expose them). Without a notifier they export nothing.
 */
export class NotificationMetrics {
  private sources: NotificationStatsSource[] = [];

  constructor(registers: Registry[]) {
    const endpoints = (): EndpointStatsLike[] => this.sources.flatMap((source) => [...source.stats().endpoints]);
    const counter = (name: string, help: string, field: 'events' | 'delivered' | 'failures' | 'dropped'): void => {
      new Counter({
        name,
        help,
        labelNames: ['endpoint'],
        registers,
        collect(this: Counter<'endpoint'>) {
          this.reset();
          for (const e of endpoints()) this.inc({ endpoint: e.name }, e[field]);
        },
      });
    };
    counter('registry_notifications_events_total', 'Events queued for delivery, by endpoint.', 'events');
    counter('registry_notifications_delivered_total', 'Events the endpoint acknowledged (2xx/3xx), by endpoint.', 'delivered');
    counter('registry_notifications_failures_total', 'Failed delivery attempts, by endpoint.', 'failures');
    counter('registry_notifications_dropped_total', 'Events discarded because the endpoint’s queue was full, by endpoint.', 'dropped');
    new Gauge({
      name: 'registry_notifications_pending',
      help: 'Events waiting for delivery, by endpoint.',
      labelNames: ['endpoint'],
      registers,
      collect(this: Gauge<'endpoint'>) {
        this.reset();
        for (const e of endpoints()) this.set({ endpoint: e.name }, e.pending);
      },
    });
    new Counter({
      name: 'registry_notifications_status_total',
      help: 'Delivery attempts by HTTP status code (error: no response), by endpoint.',
      labelNames: ['code', 'endpoint'],
      registers,
      collect(this: Counter<'code' | 'endpoint'>) {
        this.reset();
        for (const e of endpoints()) for (const [code, count] of Object.entries(e.statuses)) this.inc({ code, endpoint: e.name }, count);
      },
    });
  }

  watch(source: NotificationStatsSource): void {
    this.sources.push(source);
  }
}

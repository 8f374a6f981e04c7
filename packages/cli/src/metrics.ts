import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestObserver, RequestRecord } from '@berth/api';
import type { UploadPurgeReport, UsageReport } from '@berth/registry';
import { PathNotFoundError, type DriverOperation } from '@berth/storage-driver';
import { NotificationMetrics, type NotificationStatsSource } from './metrics-notifications';
import { RedisMetrics, type RedisStatusLike } from './metrics-redis';

/** Request durations, in seconds: from a cached manifest HEAD to a multi-GiB blob upload. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Body sizes, in bytes: 256 B to 4 GiB by powers of 4. */
export const SIZE_BUCKETS = Array.from({ length: 13 }, (_, i) => 256 * 4 ** i);
/** Storage operation durations, in seconds. */
export const STORAGE_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** HTTP methods kept as label values; any other becomes `other` (bounded label cardinality). */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** What one upload purge run reports to the metrics (`UploadPurgeScheduler`'s `onRun`). */
export interface PurgeOutcome {
  readonly report?: UploadPurgeReport;
  readonly error?: Error;
}

/**
 * Every Prometheus metric Berth exports, in a registry of its own (several registries in one
 * process never collide). Names follow distribution's where it has one (`registry_http_*`,
 * `registry_storage_action_seconds`, `registry_notifications_*`); docs/operations.md lists them all.
 * The hooks (`requestObserver`, `observeStorage`, `recordPurge`, `setHealth`) are cheap and never throw.
 */
export class RegistryMetrics {
  readonly registry = new Registry();

  private readonly requests: Counter<'handler' | 'method' | 'code'>;
  private readonly durations: Histogram<'handler' | 'method'>;
  private readonly requestSizes: Histogram<'handler'>;
  private readonly responseSizes: Histogram<'handler'>;
  private readonly inFlight: Gauge;
  private readonly storageSeconds: Histogram<'driver' | 'action'>;
  private readonly storageErrors: Counter<'driver' | 'action'>;
  private readonly uploads: Record<RequestRecord['uploadEvents'][number], Counter>;
  private readonly purgedUploads: Counter;
  private readonly abortedMultipart: Counter;
  private readonly purgeRuns: Counter<'result'>;
  private readonly purgeLastSuccess: Gauge;
  private readonly health: Gauge<'check'>;
  private readonly notifications: NotificationMetrics;
  private readonly redis: RedisMetrics;
  private peers: (() => Promise<(readonly unknown[])[]>) | undefined;

  constructor(options: { readonly defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'registry_http_requests_total',
      help: 'HTTP requests served, by route (handler), method and status code (499: the client went away).',
      labelNames: ['handler', 'method', 'code'],
      registers,
    });
    this.durations = new Histogram({
      name: 'registry_http_request_duration_seconds',
      help: 'Time from a request’s arrival until its response ended, by route (handler) and method.',
      labelNames: ['handler', 'method'],
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    });
    this.requestSizes = new Histogram({
      name: 'registry_http_request_size_bytes',
      help: 'Request body bytes received, by route (handler); the _sum is the total bytes in.',
      labelNames: ['handler'],
      buckets: SIZE_BUCKETS,
      registers,
    });
    this.responseSizes = new Histogram({
      name: 'registry_http_response_size_bytes',
      help: 'Response body bytes sent, by route (handler); the _sum is the total bytes out.',
      labelNames: ['handler'],
      buckets: SIZE_BUCKETS,
      registers,
    });
    this.inFlight = new Gauge({ name: 'registry_http_in_flight_requests', help: 'Requests being served now.', registers });
    this.storageSeconds = new Histogram({
      name: 'registry_storage_action_seconds',
      help: 'Storage driver operation durations (successes and failures), by driver and action.',
      labelNames: ['driver', 'action'],
      buckets: STORAGE_DURATION_BUCKETS,
      registers,
    });
    this.storageErrors = new Counter({
      name: 'registry_storage_errors_total',
      help: 'Storage driver operations that failed with anything but "path not found", by driver and action.',
      labelNames: ['driver', 'action'],
      registers,
    });
    const uploadCounter = (outcome: string, help: string): Counter =>
      new Counter({ name: `registry_uploads_${outcome}_total`, help, registers });
    this.uploads = {
      started: uploadCounter('started', 'Blob upload sessions opened (POST …/blobs/uploads/ answered 202, or a monolithic POST).'),
      committed: uploadCounter('committed', 'Blob uploads completed (PUT …/blobs/uploads/<uuid> or a monolithic POST answered 201).'),
      cancelled: uploadCounter('cancelled', 'Blob upload sessions cancelled by the client (DELETE …/blobs/uploads/<uuid>).'),
      failed: uploadCounter('failed', 'Blob upload completions refused or cut (digest mismatch, bad size, unknown session, client gone).'),
    };
    this.purgedUploads = new Counter({
      name: 'registry_uploads_purged_total',
      help: 'Upload sessions deleted by upload purging (dry runs count nothing).',
      registers,
    });
    this.abortedMultipart = new Counter({
      name: 'registry_upload_purge_multipart_aborted_total',
      help: 'Unfinished S3 multipart uploads aborted by upload purging.',
      registers,
    });
    this.purgeRuns = new Counter({
      name: 'registry_upload_purge_runs_total',
      help: 'Upload purge runs, by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    this.purgeLastSuccess = new Gauge({
      name: 'registry_upload_purge_last_success_timestamp_seconds',
      help: 'When the last upload purge run finished without error (Unix time; 0 before the first).',
      registers,
    });
    this.health = new Gauge({
      name: 'registry_health_check_healthy',
      help: 'Health check state, by check (storagedriver_<driver>): 1 healthy, 0 failing.',
      labelNames: ['check'],
      // With helper processes: failing when any process's check fails.
      aggregator: 'min',
      registers,
    });
    this.notifications = new NotificationMetrics(registers);
    this.registerUsageGauges(registers);
    this.redis = new RedisMetrics(registers);
  }

  private usageSource?: () => Promise<UsageReport>;

  /**
   * `registry_storage_repository_*` and `registry_storage_total_bytes` (GET /v2/_berth/usage's
   * figures), read at each scrape from the registry's usage cache. Every process computes the same
   * figures over the same storage, so with helper processes a scrape reports the largest.
   */
  private registerUsageGauges(registers: Registry[]): void {
    // A scrape never fails for want of storage: while it cannot be read, the last report stands.
    let last: UsageReport | undefined;
    const report = async (): Promise<UsageReport | undefined> => {
      try {
        if (this.usageSource) last = await this.usageSource();
      } catch {
        // storage unreachable: keep `last`
      }
      return last;
    };
    const perRepository = (name: string, help: string, field: 'bytes' | 'uniquebytes' | 'tags' | 'manifests'): void => {
      new Gauge({
        name,
        help,
        labelNames: ['repository'],
        aggregator: 'max',
        registers,
        async collect(this: Gauge<'repository'>) {
          const usage = await report();
          this.reset();
          for (const r of usage?.repositories ?? []) this.set({ repository: r.name }, r[field]);
        },
      });
    };
    perRepository('registry_storage_repository_bytes', 'Bytes the repository references, each blob once (GET /v2/_berth/usage).', 'bytes');
    perRepository('registry_storage_repository_unique_bytes', 'Bytes the repository references that no other repository does.', 'uniquebytes');
    perRepository('registry_storage_repository_tags', 'Tags of the repository.', 'tags');
    perRepository('registry_storage_repository_manifests', 'Manifests of the repository.', 'manifests');
    new Gauge({
      name: 'registry_storage_total_bytes',
      help: 'Bytes every repository references, each blob once.',
      aggregator: 'max',
      registers,
      async collect(this: Gauge) {
        const usage = await report();
        this.reset();
        if (usage) this.set(usage.total.bytes);
      },
    });
  }

  /** Exports the storage usage of `source` (the process's `Registry`) at each scrape. */
  watchUsage(source: { usage(): Promise<UsageReport> }): void {
    this.usageSource = () => source.usage();
  }

  /** For `AppOptions.observer`: counts, times and sizes every request. */
  readonly requestObserver: RequestObserver = {
    requestStarted: () => this.inFlight.inc(),
    requestFinished: (record) => {
      this.inFlight.dec();
      const handler = record.route;
      const method = KNOWN_METHODS.has(record.method) ? record.method : 'other';
      this.requests.inc({ handler, method, code: String(record.status) });
      this.durations.observe({ handler, method }, record.durationMs / 1000);
      this.requestSizes.observe({ handler }, record.bytesIn);
      this.responseSizes.observe({ handler }, record.bytesOut);
      for (const event of record.uploadEvents) this.uploads[event].inc();
    },
  };

  /** For `DriverContext.observe`: times every storage operation. */
  readonly observeStorage = (operation: DriverOperation): void => {
    const labels = { driver: operation.driver, action: operation.action };
    this.storageSeconds.observe(labels, operation.durationMs / 1000);
    if (operation.error && !(operation.error instanceof PathNotFoundError)) this.storageErrors.inc(labels);
  };

  /** For `UploadPurgeScheduler`'s `onRun`. */
  readonly recordPurge = (outcome: PurgeOutcome): void => {
    if (outcome.error || !outcome.report) {
      this.purgeRuns.inc({ result: 'failure' });
      return;
    }
    const report = outcome.report;
    this.purgeRuns.inc({ result: report.errors.length > 0 ? 'failure' : 'success' });
    if (report.errors.length === 0) this.purgeLastSuccess.set(Date.now() / 1000);
    if (!report.dryRun) {
      this.purgedUploads.inc(report.purged.length);
      this.abortedMultipart.inc(report.multipartUploadsAborted ?? 0);
    }
  };

  /** Sets a health check's state (`PeriodicCheck`'s `onChange`). */
  readonly setHealth = (check: string, healthy: boolean): void => {
    this.health.set({ check }, healthy ? 1 : 0);
  };

  /** Exports the state of the Redis connection and shared cache, read at each scrape. */
  watchRedis(source: () => RedisStatusLike): void {
    this.redis.watch(source);
  }

  /** Exports the counters of a notifier (`stats()`), read at each scrape. */
  watchNotifications(source: NotificationStatsSource): void {
    this.notifications.watch(source);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Adds other processes' metrics to every scrape (the helper processes' `metricsJson`): counters
   * and histograms are summed over the processes, the health gauge reports the worst.
   */
  includePeers(peers: () => Promise<(readonly unknown[])[]>): void {
    this.peers = peers;
  }

  /** This process's metrics alone, as JSON (what a helper process sends the main one). */
  metricsJson(): Promise<unknown[]> {
    return this.registry.getMetricsAsJSON();
  }

  /** The exposition text of every metric (of every process, with `includePeers`). */
  async metrics(): Promise<string> {
    if (!this.peers) return this.registry.metrics();
    const all = [await this.registry.getMetricsAsJSON(), ...(await this.peers())];
    return AggregatorRegistry.aggregate(all as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
  }
}

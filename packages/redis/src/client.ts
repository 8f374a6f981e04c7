import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Logger } from '@berth/logging';
import Redis, { type RedisOptions } from 'ioredis';

/** go-redis's defaults (distribution's client): dial 5 s, read 3 s, write = read. */
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000;
export const DEFAULT_READ_TIMEOUT_MS = 3_000;
/** Reconnection back-off: go-redis's 8 ms .. 512 ms. */
export const DEFAULT_MIN_RETRY_BACKOFF_MS = 8;
export const DEFAULT_MAX_RETRY_BACKOFF_MS = 512;

/** How to reach Redis: the `redis` section of the configuration (durations in milliseconds). */
export interface RedisConnectOptions {
  /** `host:port` of the server, or of the Sentinels when `masterName` is set. */
  readonly addrs: readonly string[];
  /** Sentinel: the monitored master's name. */
  readonly masterName?: string;
  readonly username?: string;
  readonly password?: string;
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
  readonly db?: number;
  readonly clientName?: string;
  readonly dialTimeoutMs?: number;
  readonly readTimeoutMs?: number;
  readonly writeTimeoutMs?: number;
  readonly minRetryBackoffMs?: number;
  readonly maxRetryBackoffMs?: number;
  /** TLS: on when `enabled`, or when a certificate or root CA is given; files are PEM paths. */
  readonly tls?: { readonly enabled?: boolean; readonly certificate?: string; readonly key?: string; readonly rootcas?: readonly string[] };
  readonly logger: Logger;
}

function hostPort(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(addr.slice(colon + 1)) };
}

/** A positive duration, or the default for unset/0 (go-redis: 0 means the default). */
const orDefault = (value: number | undefined, fallback: number): number => (value !== undefined && value > 0 ? value : fallback);

/** ioredis options for `options`: bounded timeouts, no offline queue, reconnection with back-off. */
export function ioredisOptions(options: RedisConnectOptions): RedisOptions {
  const readMs = orDefault(options.readTimeoutMs, DEFAULT_READ_TIMEOUT_MS);
  const writeMs = orDefault(options.writeTimeoutMs, readMs);
  const minBackoff = orDefault(options.minRetryBackoffMs, DEFAULT_MIN_RETRY_BACKOFF_MS);
  const maxBackoff = Math.max(minBackoff, orDefault(options.maxRetryBackoffMs, DEFAULT_MAX_RETRY_BACKOFF_MS));
  const tlsOptions = options.tls;
  const tlsOn = tlsOptions !== undefined && (tlsOptions.enabled === true || !!tlsOptions.certificate || (tlsOptions.rootcas?.length ?? 0) > 0);
  const tls = tlsOn
    ? {
        ...(tlsOptions.certificate ? { cert: readFileSync(tlsOptions.certificate), key: readFileSync(tlsOptions.key ?? '') } : {}),
        ...((tlsOptions.rootcas?.length ?? 0) > 0 ? { ca: tlsOptions.rootcas!.map((file) => readFileSync(file)) } : {}),
      }
    : undefined;
  const common: RedisOptions = {
    username: options.username || undefined,
    password: options.password || undefined,
    db: options.db ?? 0,
    connectionName: options.clientName || undefined,
    connectTimeout: orDefault(options.dialTimeoutMs, DEFAULT_DIAL_TIMEOUT_MS),
    // A command (its write and its reply) never waits longer than this: then it fails and the
    // caller falls back to storage.
    commandTimeout: Math.max(readMs, writeMs),
    // Commands fail at once while disconnected instead of queueing without bound.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(maxBackoff, minBackoff * 2 ** Math.min(times, 16)),
    lazyConnect: true,
    ...(tls ? { tls } : {}),
  };
  if (options.masterName) {
    return {
      ...common,
      name: options.masterName,
      sentinels: options.addrs.map(hostPort),
      sentinelUsername: options.sentinelUsername || undefined,
      sentinelPassword: options.sentinelPassword || undefined,
      enableTLSForSentinelMode: tls !== undefined,
      sentinelRetryStrategy: (times: number) => Math.min(maxBackoff, minBackoff * 2 ** Math.min(times, 16)),
    };
  }
  return { ...common, ...hostPort(options.addrs[0] ?? '127.0.0.1:6379') };
}

/**
 * One connection to Redis for the process (ioredis pipelines every command over it). Connects in
 * the background: an unreachable server at start-up is a warning and the connection keeps trying.
 * `up` is true while commands can be sent; `'up'`/`'down'` are emitted on each change. Errors are
 * logged once per outage, not per reconnection attempt.
 */
export class RedisConnection extends EventEmitter {
  readonly client: Redis;
  private readonly logger: Logger;
  private isUp = false;
  private closed = false;
  private reportedDown = false;
  private lastError = '';

  constructor(readonly options: RedisConnectOptions) {
    super();
    this.logger = options.logger;
    this.client = new Redis(ioredisOptions(options));
    this.client.on('ready', () => {
      this.isUp = true;
      if (this.reportedDown) this.logger.info('redis: connected again', { addrs: options.addrs });
      this.reportedDown = false;
      this.emit('up');
    });
    this.client.on('error', (error: Error) => {
      this.lastError = error.message;
      if (!this.reportedDown && !this.closed) {
        this.reportedDown = true;
        this.logger.warn('redis: cannot reach the server; requests fall back to storage until it answers', { addrs: options.addrs, error: error.message });
      }
    });
    this.client.on('close', () => this.markDown());
    this.client.on('end', () => this.markDown());
  }

  private markDown(): void {
    if (!this.isUp) return;
    this.isUp = false;
    if (!this.closed && !this.reportedDown) {
      this.reportedDown = true;
      this.logger.warn('redis: connection lost; requests fall back to storage until it is back', { addrs: this.options.addrs });
    }
    this.emit('down');
  }

  /** True while commands can be sent. */
  get up(): boolean {
    return this.isUp && this.client.status === 'ready';
  }

  /** The last connection error (for health reports), '' when none. */
  get error(): string {
    return this.lastError;
  }

  /**
   * Starts connecting and waits for the first connection up to the dial timeout. Resolves true when
   * connected; false (after a warning) when not yet: the connection keeps trying in the background.
   */
  async start(): Promise<boolean> {
    const dialMs = orDefault(this.options.dialTimeoutMs, DEFAULT_DIAL_TIMEOUT_MS);
    const ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), dialMs + 100);
      timer.unref();
      this.once('up', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    this.client.connect().catch(() => undefined);
    const connected = await ready;
    if (!connected && !this.reportedDown) {
      this.reportedDown = true;
      this.logger.warn('redis: not reachable at start-up; requests use storage until it answers', { addrs: this.options.addrs, error: this.lastError });
    }
    return connected;
  }

  /** Closes the connection (pending commands fail). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.client.status === 'ready') await this.client.quit();
      else this.client.disconnect();
    } catch {
      this.client.disconnect();
    }
  }
}

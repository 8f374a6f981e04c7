import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { createApp, type AppOptions, type RegistryEvent } from '@berth/api';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { silentLogger } from '@berth/logging';
import { createNotifier, type EndpointConfig, type Notifier, type NotifierOptions } from '@berth/notifications';
import { Registry } from '@berth/registry';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export function sha256(content: Buffer | string): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/** A fresh temporary spool directory, removed by `cleanup`. */
export async function tempSpool(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-spool-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** An endpoint with fast test timings (override any field). */
export function endpoint(url: string, extra: Partial<EndpointConfig> = {}): EndpointConfig {
  return { name: 'listener', url, timeout: 1000, threshold: 3, backoff: 50, ...extra };
}

/** Starts a notifier on `spoolDir` with a short back-off cap and a silent logger. */
export function startNotifier(spoolDir: string, endpoints: EndpointConfig[], extra: Partial<NotifierOptions> = {}): Promise<Notifier> {
  return createNotifier({ endpoints, spoolDir, logger: silentLogger(), sourceAddr: 'registry.test:5000', maxBackoffMs: 400, ...extra });
}

/** An app over a fresh in-memory driver, deletes on, reporting to `events`. */
export function registryApp(events: AppOptions['events'], extra: Partial<AppOptions> = {}): Express {
  return createApp(new Registry({ driver: createInMemoryDriver(), deleteEnabled: true }), {
    logger: silentLogger(),
    redirect: false,
    secret: 'test-secret',
    relativeUrls: false,
    events,
    ...extra,
  });
}

/** Pushes a blob in one POST and returns its digest. */
export async function pushBlob(app: Express, name: string, content: string): Promise<string> {
  const digest = sha256(content);
  await request(app).post(`/v2/${name}/blobs/uploads/?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(Buffer.from(content)).expect(201);
  return digest;
}

/** Pushes a config and a layer, then the image manifest referencing them at `reference`. */
export async function pushImage(app: Express, name: string, reference: string, seed = 'a'): Promise<{ digest: string; bytes: Buffer; config: string; layer: string }> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', seed });
  const layer = `layer ${seed}`;
  await pushBlob(app, name, config);
  await pushBlob(app, name, layer);
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  await request(app).put(`/v2/${name}/manifests/${reference}`).set('Content-Type', OCI_MANIFEST).send(bytes.toString()).expect(201);
  return { digest: sha256(bytes), bytes, config, layer };
}

/** A synthetic registry event (for tests that exercise the notifier without HTTP). */
export function syntheticEvent(n: number, action: RegistryEvent['action'] = 'push'): RegistryEvent {
  return {
    action,
    timestamp: new Date(),
    target: { repository: 'library/test', mediaType: 'application/octet-stream', digest: `sha256:${String(n).padStart(64, '0')}`, size: n },
    request: { id: `request-${n}`, addr: '127.0.0.1:1234', host: 'registry.test', method: 'PUT', useragent: 'test' },
    actor: {},
  };
}

/** The `target.size` of events (the sequence number of synthetic events). */
export function sizes(events: { target: { size?: number } }[]): number[] {
  return events.map((e) => e.target.size ?? 0);
}

/** Polls `check` until it returns true; rejects after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

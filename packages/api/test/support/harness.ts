import { createHash } from 'node:crypto';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import { silentLogger } from '@berth/logging';
import { Registry, type KeyedLock, type PolicyRule, type UploadHashCache, type UploadHashPeers } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';
import { createApp, type AppOptions } from '@berth/api';

/** A storage driver the suite runs against. */
export interface DriverUnderTest {
  readonly name: string;
  /** Set when this driver cannot run here (the suite is skipped, loudly). */
  readonly skipReason?: string;
  /** A fresh, empty driver and how to dispose of it. */
  create(): Promise<{ driver: StorageDriver; dispose(): Promise<void> }>;
}

export const SECRET = 'test-secret';

/**
 * What a test app is built from: the app's options and the `Registry`'s (which `testApp` builds
 * over `driver`, as the cli's composition root does).
 */
export interface TestAppOptions extends AppOptions {
  driver: StorageDriver;
  /** storage.delete.enabled (the registry's write policy). */
  deleteEnabled: boolean;
  /** storage.maintenance.readonly.enabled (the registry's write policy). */
  readOnly: boolean;
  /** catalog.maxentries. */
  catalogMaxEntries: number;
  /** Largest manifest accepted, in bytes (the registry's default when absent). */
  manifestMaxBytes?: number;
  /** tags.maxtags. */
  maxTags?: number;
  /** storage.tag.concurrencylimit. */
  tagConcurrencyLimit?: number;
  /** storage.cache.blobdescriptorsize when storage.cache.blobdescriptor is set. */
  blobDescriptorCacheSize?: number;
  uploadHashes?: UploadHashCache;
  uploadHashPeers?: UploadHashPeers;
  uploadLocks?: KeyedLock;
  /** `policies` (immutable tags, retention, quotas). */
  policies?: PolicyRule[];
  /** The registry's bound on how old a usage report may be. */
  usageMaxAgeMs?: number;
}

/** App options with the suite's defaults: deletes on, redirects off, absolute Locations. */
export function appOptions(driver: StorageDriver, overrides: Partial<TestAppOptions> = {}): TestAppOptions {
  return {
    driver,
    logger: silentLogger(),
    deleteEnabled: true,
    readOnly: false,
    redirect: false,
    secret: SECRET,
    relativeUrls: false,
    catalogMaxEntries: 1000,
    ...overrides,
  };
}

/** The `Registry` of `options`, as the cli builds it from the configuration. */
export function testRegistry(options: TestAppOptions): Registry {
  return new Registry({
    driver: options.driver,
    logger: options.logger.child({ component: 'registry' }),
    deleteEnabled: options.deleteEnabled,
    readOnly: options.readOnly,
    pullThrough: options.pullThrough !== undefined,
    catalogMaxEntries: options.catalogMaxEntries,
    maxManifestBytes: options.manifestMaxBytes,
    maxTags: options.maxTags,
    tagConcurrencyLimit: options.tagConcurrencyLimit,
    blobDescriptorCacheSize: options.blobDescriptorCacheSize,
    hashCache: options.uploadHashes,
    hashPeers: options.uploadHashPeers,
    uploadLocks: options.uploadLocks,
    policies: options.policies,
    usageMaxAgeMs: options.usageMaxAgeMs,
  });
}

/** An app over a new `Registry` of `options` (one process serving `options.driver`). */
export function testApp(options: TestAppOptions): Express {
  return createApp(testRegistry(options), options);
}

/** Per-test state: a fresh driver and an app over it (`makeApp` builds more instances on the same driver). */
export interface Harness {
  driver: StorageDriver;
  app: Express;
  makeApp(overrides?: Partial<TestAppOptions>): Express;
}

/** Registers beforeEach/afterEach that give every test a fresh driver and app. */
export function useHarness(dut: DriverUnderTest, overrides: Partial<TestAppOptions> = {}): Harness {
  let dispose: (() => Promise<void>) | undefined;
  const harness = {} as Harness;
  beforeEach(async () => {
    const made = await dut.create();
    dispose = made.dispose;
    harness.driver = made.driver;
    harness.makeApp = (more = {}) => testApp(appOptions(made.driver, { ...overrides, ...more }));
    harness.app = harness.makeApp();
  });
  afterEach(async () => {
    await dispose?.();
  });
  return harness;
}

export const sha256 = (content: Buffer | string): string => `sha256:${createHash('sha256').update(content).digest('hex')}`;
export const sha512 = (content: Buffer | string): string => `sha512:${createHash('sha512').update(content).digest('hex')}`;

/** Path and query of a Location (absolute or relative), to follow it with supertest. */
export function pathOf(location: string | undefined): string {
  expect(location).toBeDefined();
  const url = new URL(location as string, 'http://placeholder.invalid');
  return `${url.pathname}${url.search}`;
}

/** Adds `digest=` to a Location's query. */
export function withDigest(location: string, digest: string): string {
  const url = new URL(location, 'http://placeholder.invalid');
  url.searchParams.set('digest', digest);
  return `${url.pathname}${url.search}`;
}

/** A supertest response parser collecting the body as a Buffer. */
export function binary(res: request.Response, callback: (error: Error | null, body: Buffer) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => callback(null, Buffer.concat(chunks)));
}

/** Pushes a blob in one POST (`?digest=`) and expects 201. */
export async function pushBlob(app: Express, name: string, content: Buffer | string, digest = sha256(content)): Promise<string> {
  await request(app)
    .post(`/v2/${name}/blobs/uploads/?digest=${digest}`)
    .set('Content-Type', 'application/octet-stream')
    .send(Buffer.from(content))
    .expect(201);
  return digest;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export function descriptor(mediaType: string, content: Buffer | string, extra: Record<string, unknown> = {}) {
  return { mediaType, digest: sha256(content), size: Buffer.byteLength(content), ...extra };
}

/** Pushes a config and a layer, and returns OCI image manifest bytes referencing them (not pushed). */
export async function imageManifest(app: Express, name: string, extra: Record<string, unknown> = {}, seed = 'layer'): Promise<Buffer> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', seed });
  const layer = `${seed} bytes`;
  await pushBlob(app, name, config);
  await pushBlob(app, name, layer);
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor('application/vnd.oci.image.config.v1+json', config),
      layers: [descriptor('application/vnd.oci.image.layer.v1.tar+gzip', layer)],
      ...extra,
    }),
  );
}

/** PUTs manifest bytes at a reference and expects 201; resolves with the digest header. */
export async function putManifest(app: Express, name: string, reference: string, bytes: Buffer, contentType = OCI_MANIFEST): Promise<string> {
  const res = await request(app).put(`/v2/${name}/manifests/${reference}`).set('Content-Type', contentType).send(String(bytes)).expect(201);
  return res.headers['docker-content-digest'];
}

/** The OCI error code of a JSON error response. */
export function errorCode(res: request.Response): string {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return res.body.errors[0].code;
}

/** Starts the app on a loopback port (for raw HTTP: streamed bodies, aborted requests). */
export async function listen(app: Express): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A response from `rawRequest`. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * Sends a request with node:http, writing `chunks` one by one (no Content-Length unless given:
 * chunked transfer coding, i.e. a streamed body). With `abort`, the connection is destroyed after
 * the chunks instead of finishing the request; resolves once the server had time to see it.
 */
export async function rawRequest(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; chunks?: Buffer[]; abort?: boolean } = {},
): Promise<RawResponse | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', (error) => (options.abort ? resolve(undefined) : reject(error)));
    const chunks = options.chunks ?? [];
    let i = 0;
    const writeNext = () => {
      if (i < chunks.length) {
        req.write(chunks[i++], () => setTimeout(writeNext, 5));
      } else if (options.abort) {
        setTimeout(() => {
          req.destroy();
          setTimeout(() => resolve(undefined), 300);
        }, 100);
      } else {
        req.end();
      }
    };
    writeNext();
  });
}

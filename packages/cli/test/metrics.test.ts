import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { cleanupAll, makeTempDir } from './helpers/processes';
import { eventually, metricValue, parseExposition, startInProcess, type InProcessRegistry, type Sample } from './helpers/in-process';

/**
 * Prometheus metrics on the debug server, scraped after real requests to a registry served in this
 * process (filesystem storage, loopback HTTP).
 */

afterAll(cleanupAll);

const sha256 = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const HOUR = 3_600_000;

async function scrape(registry: InProcessRegistry): Promise<{ samples: Sample[]; text: string; contentType: string | null }> {
  const response = await fetch(`${registry.debugUrl}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { samples: parseExposition(text), text, contentType: response.headers.get('content-type') };
}

/** Opens an upload session and returns its Location as a URL. */
async function startSession(registry: InProcessRegistry, name: string): Promise<URL> {
  const response = await fetch(`${registry.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  expect(response.status).toBe(202);
  return new URL(response.headers.get('location')!, registry.url);
}

describe('metrics on the debug server', () => {
  let registry: InProcessRegistry;
  let root: string;
  let staleSession: string;

  beforeAll(async () => {
    root = await makeTempDir('metrics');
    // An upload session abandoned eight days ago, for upload purging to find.
    const id = randomUUID();
    staleSession = join(root, 'docker/registry/v2/repositories/stale/_uploads', id);
    await mkdir(staleSession, { recursive: true });
    await writeFile(join(staleSession, 'startedat'), new Date(Date.now() - 192 * HOUR).toISOString());
    registry = await startInProcess({
      version: '0.1',
      log: { level: 'info' },
      storage: {
        filesystem: { rootdirectory: root },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: true, age: '168h', interval: '1s', dryrun: false } },
      },
      http: { addr: '127.0.0.1:0', secret: 'metrics-test', debug: { addr: '127.0.0.1:0', prometheus: { enabled: true } } },
    });
  });
  afterAll(() => registry?.stop());

  it('counts, times and sizes real requests by route, method and status, and counts upload outcomes', async () => {
    expect((await fetch(`${registry.url}/v2/`)).status).toBe(200);

    const layer = Buffer.alloc(100_000, 7);
    const session = await startSession(registry, 'app');
    const patched = await fetch(session, { method: 'PATCH', body: layer, headers: { 'Content-Type': 'application/octet-stream' } });
    expect(patched.status).toBe(202);
    const commit = new URL(patched.headers.get('location')!, registry.url);
    commit.searchParams.set('digest', sha256(layer));
    expect((await fetch(commit, { method: 'PUT' })).status).toBe(201);
    const pulled = await fetch(`${registry.url}/v2/app/blobs/${sha256(layer)}`);
    expect((await pulled.arrayBuffer()).byteLength).toBe(layer.length);

    const cancelled = await startSession(registry, 'app');
    expect((await fetch(cancelled, { method: 'DELETE' })).status).toBe(204);
    const failed = await startSession(registry, 'app');
    failed.searchParams.set('digest', sha256('something else'));
    expect((await fetch(failed, { method: 'PUT', body: 'these bytes' })).status).toBe(400);
    expect((await fetch(`${registry.url}/v2/app/manifests/latest`)).status).toBe(404);

    const { samples, contentType } = await scrape(registry);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const value = (name: string, labels: Record<string, string> = {}): number | undefined => metricValue(samples, name, labels);

    expect(value('registry_http_requests_total', { handler: 'base', method: 'GET', code: '200' })).toBe(1);
    expect(value('registry_http_requests_total', { handler: 'upload-start', method: 'POST', code: '202' })).toBe(3);
    expect(value('registry_http_requests_total', { handler: 'upload', method: 'PUT', code: '201' })).toBe(1);
    expect(value('registry_http_requests_total', { handler: 'upload', method: 'PUT', code: '400' })).toBe(1);
    expect(value('registry_http_requests_total', { handler: 'blob', method: 'GET', code: '200' })).toBe(1);
    expect(value('registry_http_requests_total', { handler: 'manifest', method: 'GET', code: '404' })).toBe(1);
    expect(value('registry_http_request_duration_seconds_count', { handler: 'upload', method: 'PUT' })).toBe(2);
    expect(value('registry_http_request_duration_seconds_bucket', { handler: 'upload', method: 'PUT', le: '+Inf' })).toBe(2);
    expect(value('registry_http_request_duration_seconds_sum', { handler: 'blob', method: 'GET' })).toBeGreaterThan(0);
    expect(value('registry_http_request_size_bytes_sum', { handler: 'upload' })).toBe(layer.length + 'these bytes'.length);
    expect(value('registry_http_response_size_bytes_sum', { handler: 'blob' })).toBe(layer.length);
    expect(value('registry_http_response_size_bytes_bucket', { handler: 'blob', le: String(256 * 4 ** 4) })).toBe(0);
    expect(value('registry_http_response_size_bytes_bucket', { handler: 'blob', le: String(256 * 4 ** 5) })).toBe(1);
    expect(value('registry_http_in_flight_requests')).toBe(0);

    expect(value('registry_uploads_started_total')).toBe(3);
    expect(value('registry_uploads_committed_total')).toBe(1);
    expect(value('registry_uploads_cancelled_total')).toBe(1);
    expect(value('registry_uploads_failed_total')).toBe(1);
  });

  it('times storage operations by driver and action, and counts no "not found" as an error', async () => {
    const { samples } = await scrape(registry);
    for (const action of ['PutContent', 'GetContent', 'Writer', 'Writer.write', 'Move', 'Stat', 'Delete', 'SendTo']) {
      expect([action, metricValue(samples, 'registry_storage_action_seconds_count', { driver: 'filesystem', action })]).toEqual([
        action,
        expect.any(Number),
      ]);
    }
    expect(metricValue(samples, 'registry_storage_action_seconds_bucket', { driver: 'filesystem', action: 'PutContent', le: '+Inf' })).toBeGreaterThan(0);
    // The manifest GET above failed with "path not found": an answer, not a storage error.
    expect(metricValue(samples, 'registry_storage_errors_total')).toBeUndefined();
  });

  it('shows a request in flight while it is being served', async () => {
    const session = await startSession(registry, 'app');
    const patch = request(session, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' } });
    const answered = new Promise<number>((resolve, reject) => {
      patch.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      patch.on('error', reject);
    });
    patch.write(Buffer.alloc(1000, 1));
    await eventually('the PATCH to be in flight', async () => metricValue((await scrape(registry)).samples, 'registry_http_in_flight_requests') === 1);
    patch.end(Buffer.alloc(1000, 2));
    expect(await answered).toBe(202);
    await eventually('the PATCH to be done', async () => metricValue((await scrape(registry)).samples, 'registry_http_in_flight_requests') === 0);
  });

  it('purges the abandoned upload session on schedule and counts it', async () => {
    await eventually('a purge run', async () => (metricValue((await scrape(registry)).samples, 'registry_uploads_purged_total') ?? 0) >= 1);
    expect(existsSync(staleSession)).toBe(false);
    const { samples } = await scrape(registry);
    expect(metricValue(samples, 'registry_upload_purge_runs_total', { result: 'success' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(samples, 'registry_upload_purge_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(metricValue(samples, 'registry_upload_purge_multipart_aborted_total')).toBe(0);
    const purgeLine = registry.logger.lines.find((l) => l.message === 'upload purge: deleted upload session');
    expect(purgeLine?.fields).toMatchObject({ component: 'uploadpurging', repository: 'stale' });
  });

  it('exports the default process and Node.js metrics', async () => {
    const { samples } = await scrape(registry);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect([name, metricValue(samples, name)]).toEqual([name, expect.any(Number)]);
    }
  });

  it('exports the storage usage of each repository as gauges', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const put = async (path: string, body: Buffer, contentType: string): Promise<void> => {
      const response = await fetch(`${registry.url}${path}`, { method: path.includes('uploads') ? 'POST' : 'PUT', body, headers: { 'Content-Type': contentType } });
      expect(response.status).toBe(201);
    };
    await put(`/v2/usage/app/blobs/uploads/?digest=${sha256(config)}`, config, 'application/octet-stream');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [],
      }),
    );
    await put('/v2/usage/app/manifests/v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
    const { samples } = await scrape(registry);
    expect(metricValue(samples, 'registry_storage_repository_bytes', { repository: 'usage/app' })).toBe(config.length + manifest.length);
    expect(metricValue(samples, 'registry_storage_repository_tags', { repository: 'usage/app' })).toBe(1);
    expect(metricValue(samples, 'registry_storage_repository_manifests', { repository: 'usage/app' })).toBe(1);
    expect(metricValue(samples, 'registry_storage_total_bytes')).toBeGreaterThanOrEqual(config.length + manifest.length);
  });

  it('lists every registry_* metric it exports in docs/operations.md', async () => {
    const { text } = await scrape(registry);
    const exported = [...text.matchAll(/^# TYPE (registry_\w+) /gm)].map((m) => m[1]!);
    const docs = readFileSync(join(__dirname, '../../../docs/operations.md'), 'utf8');
    const documented = new Set([...docs.matchAll(/`(registry_\w+)`/g)].map((m) => m[1]!));
    expect(exported.filter((name) => !documented.has(name))).toEqual([]);
    expect(exported.length).toBeGreaterThanOrEqual(17);
  });
});

describe('the debug server', () => {
  let registry: InProcessRegistry;
  beforeAll(async () => {
    registry = await startInProcess({
      version: '0.1',
      storage: { inmemory: {} },
      http: { addr: '127.0.0.1:0', debug: { addr: '127.0.0.1:0', prometheus: { enabled: true, path: '/custom/metrics' } } },
    });
  });
  afterAll(() => registry?.stop());

  it('serves /debug/health ({} while healthy) and metrics at the configured path only', async () => {
    const health = await fetch(`${registry.debugUrl}/debug/health`);
    expect([health.status, health.headers.get('content-type'), await health.text()]).toEqual([200, 'application/json', '{}']);
    expect((await fetch(`${registry.debugUrl}/custom/metrics`)).status).toBe(200);
    expect((await fetch(`${registry.debugUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${registry.debugUrl}/debug/health`, { method: 'POST' })).status).toBe(405);
    const head = await fetch(`${registry.debugUrl}/debug/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    // The registry's own port serves neither.
    expect((await fetch(`${registry.url}/debug/health`)).status).toBe(404);
    expect(registry.logger.lines).toContainEqual(
      expect.objectContaining({ level: 'info', message: `debug server at ${registry.debugAddress}` }),
    );
  });

  it('stops with the registry', async () => {
    const other = await startInProcess({ version: '0.1', storage: { inmemory: {} }, http: { addr: '127.0.0.1:0', debug: { addr: '127.0.0.1:0' } } });
    const url = other.debugUrl;
    expect((await fetch(`${url}/debug/health`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    await other.stop();
    await expect(fetch(`${url}/debug/health`)).rejects.toThrow();
  });
});

describe('notification metrics', () => {
  it('export the notifier’s counters per endpoint once events were delivered to a real receiver', async () => {
    const received: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    const { port } = receiver.address() as AddressInfo;
    const root = await makeTempDir('metrics-notify');
    const registry = await startInProcess({
      version: '0.1',
      storage: { filesystem: { rootdirectory: root } },
      http: { addr: '127.0.0.1:0', debug: { addr: '127.0.0.1:0', prometheus: { enabled: true } } },
      notifications: { endpoints: [{ name: 'audit', url: `http://127.0.0.1:${port}/events`, timeout: '2s', backoff: '100ms' }] },
    });
    try {
      const blob = Buffer.from('a blob worth an event');
      expect((await fetch(`${registry.url}/v2/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status).toBe(201);
      await eventually('the event to be delivered', async () => {
        const samples = (await scrape(registry)).samples;
        return metricValue(samples, 'registry_notifications_delivered_total', { endpoint: 'audit' }) === 1;
      });
      const { samples } = await scrape(registry);
      expect(metricValue(samples, 'registry_notifications_events_total', { endpoint: 'audit' })).toBe(1);
      expect(metricValue(samples, 'registry_notifications_status_total', { endpoint: 'audit', code: '200' })).toBe(1);
      expect(metricValue(samples, 'registry_notifications_pending', { endpoint: 'audit' })).toBe(0);
      expect(metricValue(samples, 'registry_notifications_failures_total', { endpoint: 'audit' })).toBe(0);
      expect(received.join('')).toContain(sha256(blob));
    } finally {
      await registry.stop();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});

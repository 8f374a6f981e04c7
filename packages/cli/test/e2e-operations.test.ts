import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertBerthBuilt, BERTH_BIN, cleanEnv, REPO_ROOT, startBerth, testConfig } from './helpers/berth';
import { eventually } from './helpers/in-process';
import { NOBODY, nobodyRuntime } from './helpers/nobody';
import { cleanupAll, makeTempDir, spawnTracked, stopProcess } from './helpers/processes';

/** The built `berth serve` as operators meet it: read-only mode, access log lines, the debug server, a failing disk. */

afterAll(cleanupAll);

const sha256 = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Pushes a config blob and an image manifest tagged `v1`; resolves with the manifest digest. */
async function pushImage(url: string, name: string): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const posted = await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config });
  expect(posted.status).toBe(201);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [],
  });
  const put = await fetch(`${url}/v2/${name}/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'Content-Type': OCI_MANIFEST } });
  expect(put.status).toBe(201);
  return sha256(manifest);
}

async function errorCodeOf(response: Response): Promise<string> {
  return ((await response.json()) as { errors: { code: string }[] }).errors[0]!.code;
}

describe('berth serve in read-only mode (storage.maintenance.readonly.enabled)', () => {
  it('serves what another instance pushed and refuses every write with 405 UNSUPPORTED, without purging uploads', async () => {
    const root = await makeTempDir('readonly');
    const storage = { filesystem: { rootdirectory: root }, delete: { enabled: true } };
    const writable = await startBerth(testConfig(storage));
    let digest: string;
    try {
      digest = await pushImage(writable.url, 'library/app');
      expect(writable.process.output()).toMatch(/upload purging scheduled/);
    } finally {
      await writable.stop();
    }

    const readOnly = await startBerth(testConfig(storage), { env: { REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED: 'true' } });
    try {
      const pulled = await fetch(`${readOnly.url}/v2/library/app/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
      expect([pulled.status, pulled.headers.get('docker-content-digest')]).toEqual([200, digest]);
      expect((await fetch(`${readOnly.url}/v2/library/app/tags/list`)).status).toBe(200);
      const writes: [string, string, string?][] = [
        ['POST', '/v2/library/app/blobs/uploads/'],
        ['PUT', '/v2/library/app/manifests/v2', '{}'],
        ['DELETE', `/v2/library/app/manifests/${digest}`],
        ['PATCH', '/v2/library/app/blobs/uploads/0b3ad0a3-6e3f-4a56-8d8e-6d8c4a0a9d6b', 'x'],
      ];
      for (const [method, path, body] of writes) {
        const response = await fetch(`${readOnly.url}${path}`, { method, body });
        expect([method, response.status, await errorCodeOf(response)]).toEqual([method, 405, 'UNSUPPORTED']);
      }
      expect((await fetch(`${readOnly.url}/v2/library/app/manifests/v1`)).status).toBe(200);
      const output = readOnly.process.output();
      expect(output).toMatch(/storage\.maintenance\.readonly is enabled: upload purging is disabled/);
      expect(output).not.toMatch(/upload purging scheduled/);
    } finally {
      await readOnly.stop();
    }
  });
});

describe('the access log of berth serve', () => {
  it('prints one line per request with its id, route, repository, status and bytes; REGISTRY_LOG_ACCESSLOG_DISABLED silences it', async () => {
    const config = testConfig({ inmemory: {} });
    const berth = await startBerth(config);
    try {
      const response = await fetch(`${berth.url}/v2/library/app/tags/list`, { headers: { 'X-Request-Id': 'e2e-access-1' } });
      expect([response.status, response.headers.get('x-request-id')]).toEqual([404, 'e2e-access-1']);
      await berth.process.waitForOutput(/requestId=e2e-access-1/, 5000);
      const line = berth.process
        .output()
        .split('\n')
        .find((l) => l.includes('requestId=e2e-access-1'))!;
      const fields = Object.fromEntries([...line.matchAll(/ (\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
      expect(line).toMatch(/ level=info msg=request /);
      expect(fields).toMatchObject({
        method: 'GET',
        path: '/v2/library/app/tags/list',
        route: 'tags',
        repository: 'library/app',
        status: '404',
        bytesIn: '0',
        bytesOut: expect.stringMatching(/^[1-9]\d*$/),
        durationMs: expect.stringMatching(/^[\d.]+$/),
        remoteAddr: '127.0.0.1',
      });
      expect(line).not.toMatch(/undefined/);
    } finally {
      await berth.stop();
    }

    const quiet = await startBerth(config, { env: { REGISTRY_LOG_ACCESSLOG_DISABLED: 'true' } });
    try {
      expect((await fetch(`${quiet.url}/v2/`, { headers: { 'X-Request-Id': 'e2e-access-2' } })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(quiet.process.output()).not.toMatch(/e2e-access-2| msg=request /);
    } finally {
      await quiet.stop();
    }
  });
});

describe('the storage health check of berth serve on a filesystem that becomes unreachable', () => {
  it('turns /debug/health and storage requests to 503 while the root cannot be read, and back when it can', async () => {
    assertBerthBuilt();
    // Root ignores permissions, so the server runs as nobody when the tests run as root.
    const asRoot = process.getuid?.() === 0;
    const base = await makeTempDir('health-fs');
    await chmod(base, 0o755);
    const parent = join(base, 'parent');
    const root = join(parent, 'root');
    await mkdir(root, { recursive: true });
    if (asRoot) {
      await chown(parent, NOBODY.uid, NOBODY.gid);
      await chown(root, NOBODY.uid, NOBODY.gid);
    }
    const configPath = join(base, 'config.yml');
    const config = {
      ...testConfig({ filesystem: { rootdirectory: root } }, { debug: { addr: '127.0.0.1:0' } }),
      health: { storagedriver: { enabled: true, interval: '200ms', threshold: 2 } },
    };
    await writeFile(configPath, JSON.stringify(config), { mode: 0o644 });
    // From a checkout nobody cannot read, nobody runs a world-readable copy of the built runtime.
    const runtime = asRoot ? await nobodyRuntime() : { node: process.execPath, berthBin: BERTH_BIN, cwd: REPO_ROOT };
    const spawned = spawnTracked(runtime.node, [runtime.berthBin, 'serve', configPath], {
      cwd: runtime.cwd,
      env: cleanEnv(),
      ...(asRoot ? NOBODY : {}),
    });
    try {
      const url = `http://${(await spawned.waitForOutput(/listening on ([^\s"]+)/, 20_000))[1]}`;
      const debugUrl = `http://${(await spawned.waitForOutput(/debug server at ([^\s"]+)/, 5_000))[1]}`;
      const health = async (): Promise<number> => (await fetch(`${debugUrl}/debug/health`)).status;
      expect(spawned.output()).not.toMatch(/not implemented/);
      expect(await health()).toBe(200);

      await chmod(parent, 0o000);
      await eventually('the health check to fail', async () => (await health()) === 503);
      const body = (await (await fetch(`${debugUrl}/debug/health`)).json()) as Record<string, string>;
      expect(body).toEqual({ storagedriver_filesystem: expect.stringMatching(/EACCES|permission denied/i) });
      const refused = await fetch(`${url}/v2/app/manifests/latest`);
      expect([refused.status, await errorCodeOf(refused)]).toEqual([503, 'UNAVAILABLE']);
      expect((await fetch(`${url}/v2/`)).status).toBe(200);

      await chmod(parent, 0o755);
      await eventually('the health check to pass again', async () => (await health()) === 200);
      expect((await fetch(`${url}/v2/app/manifests/latest`)).status).toBe(404);
      expect(spawned.output()).toMatch(/health check storagedriver_filesystem is failing/);
      expect(spawned.output()).toMatch(/health check storagedriver_filesystem passes again/);
    } finally {
      await chmod(parent, 0o755);
      await stopProcess(spawned);
    }
  });
});

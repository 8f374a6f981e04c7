import { loadConfig } from '@berth/config';
import { createDriverFactories } from '@berth/cli';
import { deleteManifest, makeImage, pushImage, sha256 } from './gc-client';
import { startInProcess, type InProcessRegistry } from './helpers/in-process';

/** `storage.gc.interval` in `berth serve`: collections on a schedule, never in read-only mode. */

function config(storage: Record<string, unknown>): Record<string, unknown> {
  return { version: '0.1', log: { level: 'info' }, storage, http: { addr: '127.0.0.1:0', secret: 'gc-schedule' } };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('scheduled garbage collection in serve', () => {
  let registry: InProcessRegistry | undefined;
  afterEach(async () => {
    await registry?.stop();
    registry = undefined;
  });

  it('collects what a deleted image left and logs one summary line per run', async () => {
    registry = await startInProcess(
      config({ inmemory: {}, delete: { enabled: true }, gc: { interval: '100ms', graceperiod: '0s', settle: '0s' } }),
    );
    const image = makeImage([Buffer.from('scheduled layer')], 'scheduled');
    // A collection may run between the blob uploads and the manifest PUT (grace period 0) and take
    // the blobs: the push then retries, as a client would. Only a run after the delete can count
    // 3 blobs (config, layer and manifest): before the manifest PUT there are at most 2.
    await pushImage(registry.url, 'app', 'v1', image);
    await deleteManifest(registry.url, 'app', image.digest);

    const lines = registry.logger.lines;
    await until(() => lines.some((l) => l.level === 'info' && /^garbage collection: .*deleted 3 blobs/.test(l.message)));
    expect(lines.find((l) => l.message === 'garbage collection scheduled')?.fields).toMatchObject({ intervalMs: 100, gracePeriodMs: 0 });
    const head = await fetch(`${registry.url}/v2/app/blobs/${sha256(image.layers[0]!)}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
  });

  it('applies retention first in each job, then collects what it freed in a later pass', async () => {
    registry = await startInProcess({
      ...config({ inmemory: {}, delete: { enabled: true }, gc: { interval: '100ms', graceperiod: '0s', settle: '0s' } }),
      policies: [{ repositories: ['app'], retention: { keeptags: ['keep'] } }],
    });
    const dropped = makeImage([Buffer.from('dropped by retention')], 'dropped');
    await pushImage(registry.url, 'app', 'drop', dropped);
    const lines = registry.logger.lines;
    await until(() => lines.some((l) => l.message === 'retention finished' && (l.fields as { tagsDeleted?: number }).tagsDeleted === 1));
    const retained = lines.findIndex((l) => l.message === 'retention finished' && (l.fields as { tagsDeleted?: number }).tagsDeleted === 1);
    expect((await fetch(`${registry.url}/v2/app/manifests/drop`)).status).toBe(404);
    await until(async () => (await fetch(`${registry!.url}/v2/app/blobs/${sha256(dropped.layers[0]!)}`, { method: 'HEAD' })).status === 404);
    // The blobs the retention left unreferenced went in a collection after it.
    expect(lines.slice(retained + 1).some((l) => /^garbage collection: .*deleted [1-9]/.test(l.message))).toBe(true);
  });

  it('does not collect in read-only mode, and says so', async () => {
    const readOnly = config({ inmemory: {}, gc: { interval: '50ms', graceperiod: '0s' }, maintenance: { readonly: { enabled: true } } });
    const loaded = loadConfig({ yamlText: JSON.stringify(readOnly), env: {}, drivers: createDriverFactories() });
    expect(loaded.storage.gc.interval).toBe(0);
    expect(loaded.warnings).toContain('storage.maintenance.readonly is enabled: scheduled garbage collection (storage.gc.interval) is disabled');
    registry = await startInProcess(readOnly);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(registry.logger.lines.some((l) => l.message.startsWith('garbage collection'))).toBe(false);
  });
});

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { createNotifier, type Notifier } from '@berth/notifications';
import { silentLogger } from '@berth/logging';
import { Receiver } from './support/receiver';
import { endpoint, eventually, pushImage, registryApp, sizes, startNotifier, syntheticEvent, tempSpool } from './support/registry';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A spool slot as another process would have left it: owner.json plus one journal. */
async function craftSlot(spoolDir: string, owner: { hostname: string; pid: number }, lines: string[]): Promise<string> {
  const id = randomUUID();
  const slot = join(spoolDir, id);
  await mkdir(slot, { recursive: true });
  await writeFile(join(slot, 'owner.json'), JSON.stringify({ instanceID: id, ...owner, startedAt: new Date().toISOString() }));
  await writeFile(join(slot, 'listener.journal'), lines.join(''));
  return slot;
}

/** Journal lines for synthetic events `ns` (as a Berth process writes them). */
function journalLines(ns: number[], source = 'elsewhere'): string[] {
  return ns.map((n, i) => {
    const event = { id: randomUUID(), timestamp: new Date().toISOString(), action: 'push', target: { mediaType: 'application/octet-stream', size: n, repository: 'r/x' }, request: { id: 'q', method: 'PUT', useragent: '' }, actor: {}, source: { addr: source } };
    return `{"s":${i + 1},"e":${JSON.stringify(event)}}\n`;
  });
}

/** The durable, bounded queue: what survives a stop, a crash, and several processes on one spool. */
describe('spool', () => {
  let receiver: Receiver;
  let spool: Awaited<ReturnType<typeof tempSpool>>;
  const open: Notifier[] = [];

  const start = async (...args: Parameters<typeof startNotifier>): Promise<Notifier> => {
    const notifier = await startNotifier(...args);
    open.push(notifier);
    return notifier;
  };

  beforeEach(async () => {
    receiver = await Receiver.start();
    spool = await tempSpool();
  });
  afterEach(async () => {
    for (const notifier of open.splice(0)) await notifier.close({ abort: true });
    await receiver.stop();
    await spool.cleanup();
  });

  it('re-sends after a restart the events pending at stop (receiver down meanwhile); none lost', async () => {
    const port = receiver.port;
    await receiver.stop();
    const url = `http://127.0.0.1:${port}/events`;
    const first = await start(spool.dir, [endpoint(url)]);
    const app = registryApp(first);
    const image = await pushImage(app, 'library/app', 'v1');
    await request(app).get('/v2/library/app/manifests/v1').expect(200);
    for (const n of range(1, 20)) first.onEvent(syntheticEvent(n));
    await first.close();
    expect(first.stats().endpoints[0]).toMatchObject({ pending: 24, delivered: 0 });
    expect(await readdir(join(spool.dir, first.instanceId))).toEqual(expect.arrayContaining(['released', 'listener.journal']));

    const second = await start(spool.dir, [endpoint(url)]);
    expect(second.stats().endpoints[0]).toMatchObject({ pending: 24, adopted: 24 });
    expect(await readdir(spool.dir)).toEqual([second.instanceId]);
    receiver = await Receiver.start(port);
    const events = await receiver.waitForEvents(24);
    expect(events.slice(0, 4).map((e) => [e.action, e.target.digest])).toEqual([
      ['push', expect.any(String)],
      ['push', expect.any(String)],
      ['push', image.digest],
      ['pull', image.digest],
    ]);
    expect(sizes(events.slice(4))).toEqual(range(1, 20));
    // They are the events the first process generated, ids and source included.
    expect(new Set(events.map((e) => e.source.instanceID))).toEqual(new Set([first.instanceId]));
    expect(new Set(events.map((e) => e.id)).size).toBe(24);
    await eventually(() => second.stats().endpoints[0]?.pending === 0);
    await second.close();
    expect(await readdir(spool.dir)).toEqual([]);
  });

  it('re-sends the events of a process killed with SIGKILL (its pid is gone on this host)', async () => {
    const port = receiver.port;
    await receiver.stop();
    const url = `http://127.0.0.1:${port}/events`;
    const child = spawn(process.execPath, [join(__dirname, 'support', 'crash-child.js'), spool.dir, url, '15'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const crashedId = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        const match = /spooled (\S+)/.exec(chunk.toString());
        if (match) resolve(match[1] as string);
      });
      child.once('exit', (code) => reject(new Error(`child exited with ${code}: ${stderr}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(await readdir(join(spool.dir, crashedId))).not.toContain('released');

    receiver = await Receiver.start(port);
    const next = await start(spool.dir, [endpoint(url)]);
    expect(next.stats().endpoints[0]?.adopted).toBe(15);
    const events = await receiver.waitForEvents(15);
    expect(sizes(events)).toEqual(range(1, 15));
    expect(events.every((e) => e.source.instanceID === crashedId && e.source.addr === 'crashing.test:5000')).toBe(true);
  });

  it('keeps at most maxpending events, dropping the oldest, also when adopting', async () => {
    const port = receiver.port;
    await receiver.stop();
    const url = `http://127.0.0.1:${port}/events`;
    const first = await start(spool.dir, [endpoint(url, { maxpending: 5 })]);
    for (const n of range(1, 12)) first.onEvent(syntheticEvent(n));
    expect(first.stats().endpoints[0]).toMatchObject({ events: 12, pending: 5, dropped: 7 });
    await first.close();

    const second = await start(spool.dir, [endpoint(url, { maxpending: 3 })]);
    expect(second.stats().endpoints[0]).toMatchObject({ pending: 3, adopted: 5, dropped: 2 });
    receiver = await Receiver.start(port);
    expect(sizes(await receiver.waitForEvents(3))).toEqual([10, 11, 12]);
    await sleep(100);
    expect(receiver.events()).toHaveLength(3);
  });

  it('lets several live processes share one spool directory without taking each other’s events', async () => {
    receiver.mode = 500;
    const a = await start(spool.dir, [endpoint(receiver.url)], { heartbeatMs: 50 });
    const b = await start(spool.dir, [endpoint(receiver.url)], { heartbeatMs: 50 });
    for (const n of range(1, 5)) a.onEvent(syntheticEvent(n));
    for (const n of range(6, 10)) b.onEvent(syntheticEvent(n));
    await sleep(300);
    expect([a.stats().endpoints[0]?.adopted, b.stats().endpoints[0]?.adopted]).toEqual([0, 0]);
    expect((await readdir(spool.dir)).sort()).toEqual([a.instanceId, b.instanceId].sort());
    receiver.mode = 200;
    expect(sizes(await receiver.waitForEvents(10)).sort((x, y) => x - y)).toEqual(range(1, 10));
  });

  it("adopts a slot of another host once its heartbeat is older than the stale limit; skips a torn last line", async () => {
    const lines = journalLines([1, 2, 3]);
    const slot = await craftSlot(spool.dir, { hostname: 'another-host', pid: 1 }, [...lines, '{"s":4,"e":{"id":"cut sho']);
    const crafted = Date.now();
    const notifier = await start(spool.dir, [endpoint(receiver.url)], { heartbeatMs: 50, staleAfterMs: 1500 });
    await sleep(300);
    if (Date.now() - crafted < 1400) {
      expect(notifier.stats().endpoints[0]?.adopted).toBe(0);
      expect(receiver.events()).toEqual([]);
    }
    expect(sizes(await receiver.waitForEvents(3))).toEqual([1, 2, 3]);
    expect(Date.now() - crafted).toBeGreaterThanOrEqual(1400);
    await expect(stat(slot)).rejects.toThrow(/ENOENT/);
    // Closed first: a live notifier scanning for stale slots could otherwise take the next one.
    await notifier.close();
    open.splice(open.indexOf(notifier), 1);
    // A slot of another host that stopped long ago is taken at start-up.
    const old = await craftSlot(spool.dir, { hostname: 'another-host', pid: 1 }, journalLines([7]));
    const past = new Date(Date.now() - 3600_000);
    await utimes(join(old, 'owner.json'), past, past);
    const other = await start(spool.dir, [endpoint(receiver.url)], { heartbeatMs: 60_000 });
    expect(other.stats().endpoints[0]?.adopted).toBe(1);
  });

  it('applies the current ignore rules to adopted events and discards those of endpoints no longer configured', async () => {
    const slot = await craftSlot(spool.dir, { hostname: 'another-host', pid: 1 }, journalLines([1, 2]));
    await writeFile(join(slot, 'removed%2Eendpoint.journal'), journalLines([3]).join(''));
    const past = new Date(Date.now() - 3600_000);
    await utimes(join(slot, 'owner.json'), past, past);
    const notifier = await start(spool.dir, [endpoint(receiver.url, { ignore: { mediatypes: ['application/octet-stream'] } })]);
    expect(notifier.stats().endpoints[0]).toMatchObject({ adopted: 0, ignored: 2, pending: 0 });
    expect(await readdir(spool.dir)).toEqual([notifier.instanceId]);
  });

  it('re-spools its pending events when another process took its slot while it stalled', async () => {
    receiver.mode = 500;
    const notifier = await start(spool.dir, [endpoint(receiver.url)], { heartbeatMs: 50 });
    for (const n of range(1, 4)) notifier.onEvent(syntheticEvent(n));
    await notifier.flush();
    // What an adopter does: one rename of the slot into its own.
    await rename(join(spool.dir, notifier.instanceId), join(spool.dir, '.taken-elsewhere'));
    await eventually(() => {
      try {
        return readFileSync(join(spool.dir, notifier.instanceId, 'listener.journal'), 'utf8').split('\n').length === 5;
      } catch {
        return false;
      }
    });
    await notifier.close();
    receiver.mode = 200;
    await start(spool.dir, [endpoint(receiver.url)]);
    expect(sizes(await receiver.waitForEvents(4))).toEqual(range(1, 4));
  });

  it('keeps events queued in memory when the spool cannot be written, and rewrites the journal once it can', async () => {
    receiver.mode = 500;
    const notifier = await start(spool.dir, [endpoint(receiver.url)]);
    const journal = join(spool.dir, notifier.instanceId, 'listener.journal');
    await mkdir(journal); // The journal's path is taken: every write fails (EISDIR).
    for (const n of range(1, 3)) notifier.onEvent(syntheticEvent(n));
    await eventually(() => (notifier.stats().endpoints[0]?.spoolErrors ?? 0) >= 1);
    expect(notifier.stats().endpoints[0]?.pending).toBe(3);
    await rmdir(journal);
    await eventually(() => {
      try {
        return readFileSync(journal, 'utf8').trim().split('\n').length === 3;
      } catch {
        return false;
      }
    });
    receiver.mode = 200;
    expect(sizes(await receiver.waitForEvents(3))).toEqual(range(1, 3));
  });

  it('compacts the journal as events are delivered', async () => {
    const notifier = await start(spool.dir, [endpoint(receiver.url)]);
    const journal = join(spool.dir, notifier.instanceId, 'listener.journal');
    for (const n of range(1, 3000)) notifier.onEvent(syntheticEvent(n));
    await receiver.waitForEvents(3000, 30_000);
    await eventually(() => notifier.stats().endpoints[0]?.pending === 0);
    await notifier.flush();
    const eventBytes = JSON.stringify(receiver.events()[0]).length;
    const size = (await stat(journal)).size;
    console.log(`journal after 3000 delivered events: ${size} bytes (${(size / eventBytes).toFixed(0)} events' worth)`);
    // Without compaction it would hold all 3000; it is rewritten whenever 1024 delivered ones pile up.
    expect(size).toBeLessThan(1500 * eventBytes);
  });

  it('closes with nothing pending by deleting its slot', async () => {
    const notifier = await start(spool.dir, [endpoint(receiver.url)]);
    notifier.onEvent(syntheticEvent(1));
    await receiver.waitForEvents(1);
    await eventually(() => notifier.stats().endpoints[0]?.pending === 0);
    await notifier.close();
    expect(await readdir(spool.dir)).toEqual([]);
  });

  it('fails to start when the spool directory cannot be created', async () => {
    const file = join(spool.dir, 'a-file');
    await writeFile(file, 'not a directory');
    await expect(createNotifier({ endpoints: [endpoint(receiver.url)], spoolDir: join(file, 'spool'), logger: silentLogger(), sourceAddr: 'x:1' })).rejects.toThrow(
      /ENOTDIR|EEXIST/,
    );
  });
});

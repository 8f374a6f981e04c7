import { createInMemoryDriver } from '@berth/driver-inmemory';
import { GcScheduler, Registry, type GarbageCollectReport } from '@berth/registry';
import type { Logger } from '@berth/storage-driver';
import { blobStored, pushImage, snapshot } from './gc-support';

/** The garbage collection schedule `berth serve` runs with `storage.gc.interval`. */

function recordingLogger(lines: { level: string; message: string }[] = []): Logger {
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  const logger: Logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => logger };
  return logger;
}

describe('GcScheduler', () => {
  it('runs after the first delay, logs one summary line per run, and runs again an interval after each run', async () => {
    const driver = createInMemoryDriver();
    const repo = new Registry({ driver, deleteEnabled: true }).repository('app');
    const image = await pushImage(repo, { layers: ['scheduled garbage'], tag: 'v1' });
    await repo.manifests.delete({ digest: image.digest });
    const lines: { level: string; message: string }[] = [];
    const reports: GarbageCollectReport[] = [];
    let twoRuns!: () => void;
    const done = new Promise<void>((resolve) => (twoRuns = resolve));
    const scheduler = new GcScheduler(driver, {
      intervalMs: 20,
      firstRunDelayMs: 0,
      gracePeriodMs: 0,
      settleMs: 0,
      logger: recordingLogger(lines),
      onRun: ({ report }) => {
        if (report) reports.push(report);
        if (reports.length === 2) twoRuns();
      },
    });
    scheduler.start();
    await done;
    await scheduler.stop();

    expect(reports[0]?.deletedBlobs).toHaveLength(3);
    expect(reports[1]?.deletedBlobs).toEqual([]);
    expect(await blobStored(driver, image.config)).toBe(false);
    const summaries = lines.filter((l) => l.level === 'info' && l.message.startsWith('garbage collection: '));
    expect(summaries[0]?.message).toMatch(/deleted 3 blobs/);
    expect(scheduler.nextRunAt).toBeUndefined();
  });

  it('stop interrupts a run in progress, which puts back what it had set aside', async () => {
    const driver = createInMemoryDriver();
    const repo = new Registry({ driver, deleteEnabled: true }).repository('app');
    const image = await pushImage(repo, { layers: ['garbage of an interrupted scheduled run'], tag: 'v1' });
    await repo.manifests.delete({ digest: image.digest });
    const before = await snapshot(driver);
    let finished!: (report: GarbageCollectReport | undefined) => void;
    const ran = new Promise<GarbageCollectReport | undefined>((resolve) => (finished = resolve));
    const scheduler = new GcScheduler(driver, {
      intervalMs: 60_000,
      firstRunDelayMs: 0,
      gracePeriodMs: 0,
      settleMs: 60_000,
      onRun: ({ report }) => finished(report),
    });
    scheduler.start();
    while (await blobStored(driver, image.config)) await new Promise((resolve) => setTimeout(resolve, 10));

    await scheduler.stop();

    expect((await ran)?.interrupted).toBe(true);
    expect(await snapshot(driver)).toEqual(before);
  });

  it('refuses an interval that is not positive', () => {
    expect(() => new GcScheduler(createInMemoryDriver(), { intervalMs: 0 })).toThrow(RangeError);
  });
});

import { PassThrough, Readable } from 'node:stream';
import { inmemoryDriverFactory } from '@berth/driver-inmemory';
import { createLogger } from '@berth/logging';
import { collectGarbage, Digest, Registry } from '@berth/registry';
import { GcProgress } from '../src/gc-progress';

/** A real stream that says it is a terminal, collecting what is written to it. */
function terminal(): { stream: PassThrough & { isTTY: boolean }; text(): string } {
  const stream = Object.assign(new PassThrough(), { isTTY: true });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

describe('GcProgress on a terminal', () => {
  it('rewrites one progress line in place through the phases of a real collection, and clears it at the end', async () => {
    const driver = await inmemoryDriverFactory.create({}, {});
    const repo = new Registry({ driver, deleteEnabled: true }).repository('team/app');
    for (const content of ['one', 'two', 'three']) {
      const bytes = Buffer.from(content);
      const session = await repo.uploads.start();
      await repo.uploads.commit(session.id, Digest.fromBytes(bytes), Readable.from([bytes]));
    }
    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
    const logger = createLogger({ level: 'info', formatter: 'text', stream: logs });
    const tty = terminal();
    const progress = new GcProgress(logger, { dryRun: false, deleteUntagged: false, gracePeriodMs: 0, settleMs: 0 }, tty.stream);

    progress.begin({ driver: 'inmemory' });
    const report = await collectGarbage(driver, {
      gracePeriodMs: 0,
      settleMs: 0,
      logger: progress.logger(logger.child({ component: 'gc' })),
      onProgress: progress.onProgress,
    });
    progress.finish(report);
    await new Promise((resolve) => setImmediate(resolve));

    expect(report.deletedBlobs).toHaveLength(3);
    const frames = tty.text().split('\r\x1b[2K').filter(Boolean);
    expect(frames[0]).toMatch(/^garbage collection: marking: walking repositories and blobs, reading manifests \(\d+ s\)$/);
    expect(frames).toContainEqual(expect.stringMatching(/^garbage collection: setting 3 blobs aside, then settling 0 s before the re-check/));
    expect(frames).toContainEqual(expect.stringMatching(/^garbage collection: deleting what nothing needs.*; 3 blobs, 0 manifests deleted \(\d+ s\)$/));
    expect(tty.text()).not.toContain('\n');
    expect(tty.text().endsWith('\r\x1b[2K')).toBe(true);
    expect(logText).toMatch(/msg="garbage collection: marking"[^\n]*\n[^]*msg="garbage collection: marked"[^\n]*candidates=3[^]*msg="garbage collection: finished"[^\n]*deletedBlobs=3/);
  });

  it('writes no progress line when the output is not a terminal', async () => {
    const plain = terminal();
    plain.stream.isTTY = false;
    const progress = new GcProgress(createLogger({ silent: true }), { dryRun: true, deleteUntagged: false, gracePeriodMs: 0, settleMs: 0 }, plain.stream);
    progress.begin({});
    progress.onProgress({ phase: 'marked', blobs: 2, marked: 0, candidates: 2, manifestsRead: 0 });
    progress.abandon();
    await new Promise((resolve) => setImmediate(resolve));
    expect(plain.text()).toBe('');
  });
});

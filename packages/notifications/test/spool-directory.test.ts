import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@berth/logging';
import { SpoolDirectory } from '../src/spool';

describe('SpoolDirectory', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-spool-dir-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('releases a slot that a live neighbour adopted while it was being released', async () => {
    const closing = new SpoolDirectory(root, 'closing', 60_000, silentLogger());
    const neighbour = new SpoolDirectory(root, 'neighbour', 60_000, silentLogger());
    await closing.claim();
    await neighbour.claim();
    // The neighbour shares the process (same pid), so it may take the slot the moment it stops
    // being live — before release() has written its marker.
    await neighbour.take('closing');
    await expect(closing.release(false)).resolves.toBeUndefined();
    expect(await readdir(root)).toEqual(['neighbour']);
    expect(await readdir(neighbour.slotPath)).toContain('adopted-closing');
  });
});

import { getHeapStatistics } from 'node:v8';
import { collectGarbage, IdleMemoryRelease, RELEASE_MIN_GROWTH_BYTES, type IdleMemoryHooks, type MemoryRelease } from '../src/idle-memory';

/** Hooks with a hand-driven clock: `held` is set by the test, `fire` runs the pending timer. */
function fakeHooks(): IdleMemoryHooks & { heldBytes: number; releases: number; pending: (() => void) | undefined; fire(): void } {
  const hooks = {
    heldBytes: 100 * 1024 * 1024,
    releases: 0,
    pending: undefined as (() => void) | undefined,
    held: () => hooks.heldBytes,
    release: () => {
      hooks.releases++;
      hooks.heldBytes = 60 * 1024 * 1024;
    },
    setTimeout: (fn: () => void) => {
      hooks.pending = fn;
      return {};
    },
    clearTimeout: () => (hooks.pending = undefined),
    fire: () => {
      const fn = hooks.pending;
      hooks.pending = undefined;
      fn?.();
    },
  };
  return hooks;
}

const GROWN = RELEASE_MIN_GROWTH_BYTES + 1;

describe('IdleMemoryRelease', () => {
  it('gives memory back once no request has been in flight for the idle time', () => {
    const hooks = fakeHooks();
    const reports: MemoryRelease[] = [];
    const idle = new IdleMemoryRelease((report) => reports.push(report), 2_000, hooks);
    idle.requestStarted();
    hooks.heldBytes += GROWN;
    idle.allRequestsEnded();
    expect(hooks.releases).toBe(0);
    hooks.fire();
    expect(hooks.releases).toBe(1);
    expect(reports).toEqual([{ heldBefore: 100 * 1024 * 1024 + GROWN, heldAfter: 60 * 1024 * 1024, durationMs: expect.any(Number) }]);
  });

  it('puts the release off when a request starts before the idle time is over', () => {
    const hooks = fakeHooks();
    const idle = new IdleMemoryRelease(undefined, 2_000, hooks);
    idle.requestStarted();
    hooks.heldBytes += GROWN;
    idle.allRequestsEnded();
    expect(hooks.pending).toBeDefined();
    idle.requestStarted();
    expect(hooks.pending).toBeUndefined();
    idle.allRequestsEnded();
    hooks.fire();
    expect(hooks.releases).toBe(1);
  });

  it('skips the collection when the process has not grown since its last release', () => {
    const hooks = fakeHooks();
    const idle = new IdleMemoryRelease(undefined, 2_000, hooks);
    idle.requestStarted();
    idle.allRequestsEnded();
    hooks.fire();
    expect(hooks.releases).toBe(0);
    hooks.heldBytes += GROWN;
    idle.requestStarted();
    idle.allRequestsEnded();
    hooks.fire();
    expect(hooks.releases).toBe(1);
    // The baseline is what the process held after that release (60 MiB): a little growth is no reason.
    hooks.heldBytes += RELEASE_MIN_GROWTH_BYTES / 2;
    idle.requestStarted();
    idle.allRequestsEnded();
    hooks.fire();
    expect(hooks.releases).toBe(1);
  });

  it('releases nothing once closed', () => {
    const hooks = fakeHooks();
    const idle = new IdleMemoryRelease(undefined, 2_000, hooks);
    idle.requestStarted();
    hooks.heldBytes += GROWN;
    idle.allRequestsEnded();
    idle.close();
    expect(hooks.pending).toBeUndefined();
    idle.requestStarted();
    idle.allRequestsEnded();
    hooks.fire();
    expect(hooks.releases).toBe(0);
  });
});

describe('collectGarbage', () => {
  it('frees what only garbage references, without exposing gc on the global object', () => {
    const exposedBefore = typeof (globalThis as { gc?: unknown }).gc;
    let garbage: { name: string; values: number[] }[] | undefined = Array.from({ length: 300_000 }, (_, i) => ({
      name: `entry-${i}`,
      values: [i, i + 1, i + 2],
    }));
    const withGarbage = getHeapStatistics().used_heap_size;
    expect(garbage).toHaveLength(300_000);
    garbage = undefined;
    collectGarbage();
    // 300,000 objects with a string and an array each: well over 20 MiB, all of it unreachable now.
    expect(withGarbage - getHeapStatistics().used_heap_size).toBeGreaterThan(20 * 1024 * 1024);
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe(exposedBefore);
  });
});

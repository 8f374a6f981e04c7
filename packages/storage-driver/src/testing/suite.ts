import { randomBytes } from 'node:crypto';
import type { StorageDriver } from '../driver';
import { contentCases } from './cases-content';
import { concurrencyCases } from './cases-concurrency';
import { fairnessCases } from './cases-fairness';
import { mutateCases } from './cases-mutate';
import { pathCases } from './cases-paths';
import { sendCases } from './cases-send';
import { streamCases } from './cases-streams';
import { treeCases } from './cases-tree';
import { writerCases } from './cases-writers';
import { CASE_TIMEOUT_MS, DEFAULT_LARGE_SIZE, deleteIfPresent, type SuiteContext } from './context';

export interface ConformanceOptions {
  /** Size of the large round trip; default 64 MiB (must stay >= 64 MiB by default). */
  largeSize?: number;
  /** When set, the whole suite is registered as skipped and this reason is printed loudly (console.warn) — never a silent pass. */
  skipReason?: string;
}

/** What `makeDriver` hands the suite: a wrapped driver rooted somewhere empty, and how to dispose of it. */
export interface ConformanceTarget {
  driver: StorageDriver;
  /** Runs in afterAll; closes the driver and removes whatever the factory set up. */
  destroy?: () => Promise<void>;
}

/**
 * Registers the shared storage-driver conformance suite with jest (a port of CNCF distribution's
 * `testsuites.go`). `makeDriver` runs once in `beforeAll` and must return a driver (wrapped with
 * `wrapDriver`) whose root is empty; the suite owns that root for its duration. Every case works in
 * its own top-level directory and deletes it; after each case the root is listed and the case fails
 * when anything is left behind. Nothing is parameterised per driver: the same cases run everywhere.
 */
export function describeDriverConformance(
  name: string,
  makeDriver: () => Promise<ConformanceTarget>,
  options: ConformanceOptions = {},
): void {
  const largeSize = options.largeSize ?? DEFAULT_LARGE_SIZE;
  if (!Number.isSafeInteger(largeSize) || largeSize < 16) {
    throw new Error(`describeDriverConformance(${name}): largeSize must be an integer >= 16, got ${largeSize}`);
  }
  const title = `storage driver conformance: ${name}`;

  let target: ConformanceTarget | undefined;
  let counter = 0;
  const runId = randomBytes(4).toString('hex');
  const ctx: SuiteContext = {
    get driver(): StorageDriver {
      if (!target) throw new Error(`${title}: the driver was not created (see the beforeAll failure)`);
      return target.driver;
    },
    largeSize,
    scratchDir: () => `/conformance-${runId}-${++counter}`,
  };

  const registerCases = (): void => {
    pathCases(ctx);
    contentCases(ctx);
    streamCases(ctx);
    sendCases(ctx);
    writerCases(ctx);
    treeCases(ctx);
    mutateCases(ctx);
    concurrencyCases(ctx);
    fairnessCases(ctx);
  };

  if (options.skipReason) {
    // A skipped suite must be impossible to mistake for a passing one.
    // eslint-disable-next-line no-console
    console.warn(`\n!!! SKIPPED: ${title}\n!!! reason: ${options.skipReason}\n`);
    describe.skip(`${title} (SKIPPED: ${options.skipReason})`, registerCases);
    return;
  }

  describe(title, () => {
    beforeAll(async () => {
      target = await makeDriver();
      const leftovers = await target.driver.list('/');
      if (leftovers.length > 0) {
        throw new Error(`${title}: the driver's root is not empty before the suite: ${leftovers.join(', ')}`);
      }
    }, CASE_TIMEOUT_MS);

    afterEach(async () => {
      if (!target) return;
      const leftovers = await target.driver.list('/');
      if (leftovers.length === 0) return;
      // Remove them so that one faulty case does not fail every later one, then fail this case.
      for (const path of leftovers) await deleteIfPresent(target.driver, path).catch(() => undefined);
      throw new Error(`driver did not clean up properly. Offending paths: ${leftovers.join(', ')}`);
    }, CASE_TIMEOUT_MS);

    afterAll(async () => {
      await target?.destroy?.();
    }, CASE_TIMEOUT_MS);

    registerCases();
  });
}

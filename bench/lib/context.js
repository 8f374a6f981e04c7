'use strict';
// What every row group gets: the options, the driver, which registries run, fresh storage for
// each server session (a temp dir, or a fresh S3 prefix removed afterwards), and the results.
const { makeTempDir, removeTempDir, run } = require('./processes');
const { startRegistry } = require('./servers');
const { deletePrefix, rgwCounters } = require('./s3');
const { waitForQuiet } = require('./quiet');

let sessions = 0;

const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/**
 * `rgw` is the running gateway for the s3 driver (undefined for filesystem). `products` lists the
 * registries measured: 'berth', and 'distribution' when it is installed.
 */
function createContext({ options, driver, rgw, products, results }) {
  const ctx = {
    options,
    driver,
    products,
    results,
    log: (message) => console.error(`bench [${driver}] ${message}`),

    /**
     * S3 requests per call of `fn` (a request to one registry): `fn` once unmeasured (caches warm),
     * then `times` times one after another while the gateway's request counter is read before and
     * after. Undefined without a gateway. Nothing else may use the gateway meanwhile: call it
     * between measurements. `{ total, get }` per call (`get`: object reads).
     */
    async s3RequestsPer(fn, times = 20) {
      if (!rgw) return undefined;
      await fn();
      const before = await rgwCounters(rgw);
      if (!before) return undefined;
      for (let i = 0; i < times; i++) await fn();
      const after = await rgwCounters(rgw);
      return { total: (after.req - before.req) / times, get: (after.get - before.get) / times };
    },

    /** The products in the order of run `run`: alternating, so neither always goes first. */
    order: (runIndex) => (runIndex % 2 === 0 ? products : [...products].reverse()),

    /** Records one run's figure for row `spec` (see Results.row). */
    record: (spec, product, value) => results.add(driver, spec, product, value),
    note: (spec, text) => results.note(driver, spec, text),

    /**
     * Before a timed measurement: flushes dirty pages (so that one measurement's write-back does
     * not land in the next), then waits up to --quiet-wait seconds for the CPUs to be mostly idle.
     * Keeps `{ driver, label, busy, waitedSeconds, startMicros }` in `results.measurements` and
     * returns `done()`, which adds `endMicros`: the window (CLOCK_MONOTONIC, the clock of V8's CPU
     * profiles) that `bench/profile-summary.js --measurements` restricts a profile to.
     */
    async settle(label) {
      await run('sync', []);
      const { busy, waitedSeconds } = await waitForQuiet({ threshold: options.quietThreshold, maxWaitSeconds: options.quietWait });
      if (busy >= options.quietThreshold) ctx.log(`${label}: starting with ${(busy * 100).toFixed(0)}% of the CPUs busy elsewhere`);
      const entry = { driver, label, busy, waitedSeconds, startMicros: monotonicMicros() };
      results.measurements.push(entry);
      return () => {
        entry.endMicros = monotonicMicros();
      };
    },

    /**
     * Starts `which` (a list of products) each on fresh, empty storage, runs `fn(servers)` with
     * `servers[product] = { url, hostPort, pid, … }`, then stops them and removes their storage.
     */
    async withServers(which, fn, { redisAddr } = {}) {
      const started = {};
      const cleanups = [];
      try {
        for (const product of which) {
          const session = ++sessions;
          let storage;
          if (driver === 'filesystem') {
            const root = makeTempDir(`${product}-storage`);
            storage = { driver, root };
            cleanups.push(async () => removeTempDir(root));
          } else {
            const prefix = `/bench-${process.pid}-${session}-${product}`;
            storage = { driver, s3: rgw.s3, prefix };
            cleanups.push(() => deletePrefix(rgw, prefix));
          }
          const berth = product === 'berth';
          started[product] = await startRegistry(product, storage, {
            cpuProfileDir: berth ? options.profileDir : undefined,
            workers: berth ? options.workers : undefined,
            redisAddr,
          });
        }
        return await fn(started);
      } finally {
        for (const server of Object.values(started)) {
          const status = await server.stop();
          if (status.crashed) ctx.log(`${server.name} had exited by itself (${status.signal ?? status.code}); its log ends:\n${status.log}`);
          else if (status.code !== 0 && status.signal !== 'SIGTERM') ctx.log(`${server.name} exited with ${status.signal ?? status.code}`);
        }
        for (const cleanup of cleanups) await cleanup();
      }
    },
  };
  return ctx;
}

module.exports = { createContext };

'use strict';
// The machine is shared (other processes run tests on the same 2 cores), so each timed
// measurement first waits, up to a limit, for the CPUs to be mostly idle, and the busy share seen
// at its start is kept with the results. The registries under test are idle at that moment.
const { readFileSync } = require('node:fs');

function cpuTimes() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + (fields[4] ?? 0); // idle + iowait
  return { idle, total: fields.reduce((a, b) => a + b, 0) };
}

/** Share of all CPUs busy (0..1) over the next `ms`. */
async function busyShare(ms = 500) {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}

/**
 * Waits until less than `threshold` of the CPUs is busy, or `maxWaitSeconds` passed; resolves
 * with `{ busy, waitedSeconds }` (the last share measured).
 */
async function waitForQuiet({ threshold = 0.25, maxWaitSeconds = 30 } = {}) {
  const started = Date.now();
  for (;;) {
    const busy = await busyShare();
    const waitedSeconds = (Date.now() - started) / 1000;
    if (busy < threshold || waitedSeconds >= maxWaitSeconds) return { busy, waitedSeconds };
  }
}

module.exports = { busyShare, waitForQuiet };

'use strict';
// Resident memory of a server process from /proc/<pid>/status: VmRSS sampled every 100 ms, and
// the kernel's own high-water mark VmHWM, reset before the measurement through clear_refs (5).
const { readFileSync, writeFileSync } = require('node:fs');

function statusKiB(pid, field) {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) : 0;
}

/** Starts sampling `pid`; `stop()` resolves with `{ peakMiB, sampledPeakMiB, hwmMiB, samples }`. */
function sampleRss(pid, intervalMs = 100) {
  let hwmReset = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    hwmReset = false; // the kernel or the container does not allow it: VmHWM is the lifetime peak
  }
  let sampled = statusKiB(pid, 'VmRSS');
  let samples = 1;
  const timer = setInterval(() => {
    try {
      sampled = Math.max(sampled, statusKiB(pid, 'VmRSS'));
      samples++;
    } catch {
      // the process exited; stop() reports what was seen
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      let hwm = 0;
      try {
        sampled = Math.max(sampled, statusKiB(pid, 'VmRSS'));
        if (hwmReset) hwm = statusKiB(pid, 'VmHWM');
      } catch {
        // the process exited: the samples taken so far are all there is
      }
      const MiB = (kib) => kib / 1024;
      return { peakMiB: MiB(Math.max(sampled, hwm)), sampledPeakMiB: MiB(sampled), hwmMiB: MiB(hwm), hwmReset, samples };
    },
  };
}

module.exports = { sampleRss };

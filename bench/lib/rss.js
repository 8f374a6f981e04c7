'use strict';
// Resident memory of a server and every process it started (Berth's helper processes, see
// http.workers). Every 100 ms each process's /proc/<pid>/smaps_rollup is read: its private pages
// (Private_Clean + Private_Dirty) are added up, and the pages it shares (Shared_*: the node
// executable and shared libraries, which every Berth process maps) are counted once, as the
// largest such set among the processes. For one process that is exactly its RSS; for several it is
// what they occupy together, where a plain sum of RSS would count the ~40 MiB node executable once
// per process. The kernel's own high-water mark VmHWM, reset through clear_refs (5) before the
// measurement, is added for a single process (it catches a peak between two samples); for several
// the sum of their VmHWM is kept as an upper bound (`hwmSumMiB`: their peaks need not coincide, and
// it counts shared pages per process).
const { readFileSync, readdirSync, writeFileSync } = require('node:fs');

function rollup(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { private: field('Private_Clean') + field('Private_Dirty'), shared: field('Shared_Clean') + field('Shared_Dirty') };
}

function statusKiB(pid, field) {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) : 0;
}

/** `pid` and its descendants. */
function processTree(pid) {
  const pids = [pid];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      for (const child of children) pids.push(...processTree(Number(child)));
    }
  } catch {
    // the process exited meanwhile
  }
  return pids;
}

/** Starts sampling `pid`'s process tree; `stop()` resolves with `{ peakMiB, sampledPeakMiB, hwmSumMiB, processes, samples }`. */
function sampleRss(pid, intervalMs = 100) {
  const seen = new Set();
  let hwmReset = true;
  let sampled = 0;
  let samples = 0;
  const sample = () => {
    for (const p of processTree(pid)) {
      if (seen.has(p)) continue;
      seen.add(p);
      try {
        writeFileSync(`/proc/${p}/clear_refs`, '5');
      } catch {
        hwmReset = false; // the kernel or the container does not allow it: VmHWM is the lifetime peak
      }
    }
    let privatePages = 0;
    let sharedPages = 0;
    for (const p of seen) {
      try {
        const r = rollup(p);
        privatePages += r.private;
        sharedPages = Math.max(sharedPages, r.shared);
      } catch {
        // the process exited; its earlier samples stay in the peak
      }
    }
    sampled = Math.max(sampled, privatePages + sharedPages);
    samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      let hwmSum = 0;
      for (const p of seen) {
        try {
          hwmSum += statusKiB(p, 'VmHWM');
        } catch {
          // exited
        }
      }
      const single = seen.size === 1 && hwmReset;
      const MiB = (k) => k / 1024;
      return {
        peakMiB: MiB(single ? Math.max(sampled, hwmSum) : sampled),
        sampledPeakMiB: MiB(sampled),
        hwmSumMiB: MiB(hwmSum),
        processes: seen.size,
        hwmReset,
        samples,
      };
    },
  };
}

module.exports = { processTree, sampleRss };

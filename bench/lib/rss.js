'use strict';
// Resident memory of a server and every process it started (Berth's helper processes, see
// http.workers): per process VmRSS from /proc/<pid>/status sampled every 100 ms, and the kernel's
// own high-water mark VmHWM, reset before the measurement through clear_refs (5). The peak is the
// larger of the highest sampled sum and the sum of the processes' own peaks (an upper bound: their
// peaks need not coincide). Pss (proportional set size, /proc/<pid>/smaps_rollup) is sampled too:
// RSS counts the pages processes share (the node binary, shared libraries) once per process, Pss
// splits them, so a sum of Pss is what the processes occupy together.
const { readFileSync, readdirSync, writeFileSync } = require('node:fs');

function kib(pid, file, field) {
  const match = readFileSync(`/proc/${pid}/${file}`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
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

/** Starts sampling `pid`'s process tree; `stop()` resolves with `{ peakMiB, sampledPeakMiB, hwmMiB, pssPeakMiB, processes, samples }`. */
function sampleRss(pid, intervalMs = 100) {
  const seen = new Set();
  let hwmReset = true;
  const watch = () => {
    for (const p of processTree(pid)) {
      if (seen.has(p)) continue;
      seen.add(p);
      try {
        writeFileSync(`/proc/${p}/clear_refs`, '5');
      } catch {
        hwmReset = false; // the kernel or the container does not allow it: VmHWM is the lifetime peak
      }
    }
  };
  let sampled = 0;
  let pss = 0;
  let samples = 0;
  const sample = () => {
    watch();
    let rss = 0;
    let proportional = 0;
    for (const p of seen) {
      try {
        rss += kib(p, 'status', 'VmRSS');
        proportional += kib(p, 'smaps_rollup', 'Pss');
      } catch {
        // the process exited; its last samples stay in the peaks
      }
    }
    sampled = Math.max(sampled, rss);
    pss = Math.max(pss, proportional);
    samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      let hwm = 0;
      for (const p of seen) {
        try {
          if (hwmReset) hwm += kib(p, 'status', 'VmHWM');
        } catch {
          // exited
        }
      }
      const MiB = (k) => k / 1024;
      return {
        peakMiB: MiB(Math.max(sampled, hwm)),
        sampledPeakMiB: MiB(sampled),
        hwmMiB: MiB(hwm),
        pssPeakMiB: MiB(pss),
        processes: seen.size,
        hwmReset,
        samples,
      };
    },
  };
}

module.exports = { processTree, sampleRss };

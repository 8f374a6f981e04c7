'use strict';
// Request-rate measurements with established load tools: autocannon (npm) for GET, ApacheBench
// (`ab`, Debian's apache2-utils) for HEAD. autocannon 8 and wrk 4.1 both wait for a body after a
// HEAD response that carries Content-Length (as a manifest HEAD must), so neither completes a
// single HEAD request; `ab -i` does. Each measurement: a fixed number of keep-alive connections for
// a fixed time, after a warm-up at the same concurrency.
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const autocannon = require('autocannon');
const { run } = require('./processes');
const { waitForQuiet } = require('./quiet');

const AB = '/usr/bin/ab';

/**
 * A fixed-time run discards the requests still in flight at the end; when an endpoint is so slow
 * that fewer than 2 per connection completed, it is measured again by count instead (every
 * connection completes 2 requests), so slow rows get a rate rather than nothing. Before it, the
 * machine is given up to a minute to become idle: the server may still be working on the requests
 * the fixed-time run abandoned.
 */
const MIN_PER_CONNECTION = 2;
/** Per-request timeout of the count-based run: slow listings on S3 take minutes under 32-way load. */
const SLOW_TIMEOUT_SECONDS = 600;

async function withAutocannon(url, { method, headers, connections, durationSeconds, warmupSeconds }) {
  const options = { url, method, headers, connections, duration: durationSeconds, timeout: 60 };
  if (warmupSeconds > 0) options.warmup = { connections, duration: warmupSeconds };
  let result = await autocannon(options);
  if (result.requests.total < MIN_PER_CONNECTION * connections && result.non2xx + result.errors === 0) {
    const { duration: _duration, warmup: _warmup, ...byCount } = options;
    await waitForQuiet({ maxWaitSeconds: 60 });
    result = await autocannon({ ...byCount, timeout: SLOW_TIMEOUT_SECONDS, amount: MIN_PER_CONNECTION * connections });
  }
  const failures = result.non2xx + result.errors + result.timeouts;
  if (failures > 0 || result.requests.total === 0) {
    throw new Error(
      `${method} ${url}: ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodeStats)}), ${result.errors} errors, ${result.timeouts} timeouts of ${result.requests.total}`,
    );
  }
  return { tool: 'autocannon', rps: result.requests.total / result.duration, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total };
}

/** ab's arguments for a run of `seconds`, or of `count` requests when `seconds` is undefined. */
function abArgs(url, { method, headers, connections }, seconds, csv, count) {
  const limit = seconds === undefined ? ['-n', String(count)] : ['-t', String(seconds), '-n', '100000000'];
  const args = ['-q', '-k', '-c', String(connections), ...limit, '-s', '60'];
  if (method === 'HEAD') args.push('-i');
  else if (method !== 'GET') throw new Error(`ab measures GET and HEAD only (not ${method})`);
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  if (csv) args.push('-e', csv);
  return [...args, url];
}

async function withAb(url, settings) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-ab-'));
  try {
    if (settings.warmupSeconds > 0) await run(AB, abArgs(url, settings, Math.max(1, Math.round(settings.warmupSeconds))));
    const csv = join(dir, 'percentiles.csv');
    let { stdout } = await run(AB, abArgs(url, settings, settings.durationSeconds, csv));
    const field = (name) => {
      const match = stdout.match(new RegExp(`^${name}:\\s+([\\d.]+)`, 'm'));
      return match ? Number(match[1]) : 0;
    };
    if (field('Complete requests') < MIN_PER_CONNECTION * settings.connections) {
      await waitForQuiet({ maxWaitSeconds: 60 });
      const byCount = abArgs(url, settings, undefined, csv, MIN_PER_CONNECTION * settings.connections);
      byCount[byCount.indexOf('-s') + 1] = String(SLOW_TIMEOUT_SECONDS);
      ({ stdout } = await run(AB, byCount, { timeoutMs: 2 * SLOW_TIMEOUT_SECONDS * 1000 }));
    }
    const complete = field('Complete requests');
    const failures = field('Failed requests') + field('Non-2xx responses') + field('Write errors');
    if (failures > 0 || complete === 0) throw new Error(`ab ${settings.method} ${url}: ${complete} complete, ${failures} failed or non-2xx:\n${stdout}`);
    const percentile = Object.fromEntries(
      readFileSync(csv, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',').map(Number)),
    );
    return { tool: 'ab', rps: complete / field('Time taken for tests'), p50: percentile[50], p99: percentile[99], requests: complete };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Loads `url` with `connections` keep-alive connections for `durationSeconds` (after
 * `warmupSeconds`), with autocannon, or with ab for HEAD or when `tool` is 'ab'. Resolves with
 * `{ tool, rps, p50, p99, requests }` (latencies in ms). Rejects when any response was not 2xx or
 * any request failed: a rate of failures is not a rate of answers.
 */
function measureRate(url, { method = 'GET', headers = {}, connections = 32, durationSeconds = 5, warmupSeconds = 1, tool = 'autocannon' } = {}) {
  const settings = { method, headers, connections, durationSeconds, warmupSeconds };
  return method === 'HEAD' || tool === 'ab' ? withAb(url, settings) : withAutocannon(url, settings);
}

module.exports = { measureRate };

'use strict';
// Blob pulls with curl (to /dev/null): a native client, so that the client is not what bounds a
// multi-GB/s pull on loopback (a Node client tops out near loopback TCP speed in Node).
const { run } = require('./processes');

const CURL = '/usr/bin/curl';

/** GETs `url` once; resolves with `{ seconds, bytes }` as curl measured them; rejects unless 200. */
async function curlGet(url) {
  const { stdout } = await run(CURL, ['--silent', '--show-error', '--output', '/dev/null', '--write-out', '%{http_code} %{size_download} %{time_total}', url]);
  const [status, bytes, seconds] = stdout.trim().split(' ');
  if (status !== '200') throw new Error(`curl ${url}: HTTP ${status}`);
  return { seconds: Number(seconds), bytes: Number(bytes) };
}

/** GETs every URL at the same time (one curl each); resolves with the wall time of the batch. */
async function curlGetAll(urls) {
  const started = process.hrtime.bigint();
  const results = await Promise.all(urls.map(curlGet));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, bytes: results.reduce((sum, r) => sum + r.bytes, 0) };
}

module.exports = { curlGet, curlGetAll };

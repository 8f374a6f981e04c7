'use strict';
// A small OCI distribution client over node:http, for pushing benchmark blobs and seeding
// manifests. Blob bodies are streamed from `blobChunks` (never held whole); responses are small.
const http = require('node:http');
const { createHash } = require('node:crypto');
const { Readable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { blobChunks } = require('./blobdata');

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * Closes the kept-alive connections no request uses now. A pause longer than the server's
 * keep-alive timeout (5 s) leaves them closed or closing on its side, and a request sent on one
 * then fails with `socket hang up`.
 */
function dropIdleConnections() {
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

/**
 * One request. `body` is a Buffer/string, or `{ chunks, length }` (an iterable of Buffers of
 * `length` bytes in all). Resolves with `{ status, headers, text }` (the response body as text).
 */
function send(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const streamed = body !== undefined && typeof body === 'object' && !Buffer.isBuffer(body);
    const length = body === undefined ? 0 : streamed ? body.length : Buffer.byteLength(body);
    const req = http.request(url, { method, agent, headers: { 'content-length': length, ...headers } }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    if (!streamed) return req.end(body);
    pipeline(Readable.from(body.chunks, { objectMode: false }), req).catch(reject);
  });
}

function expectStatus(what, response, status) {
  if (response.status !== status) {
    throw new Error(`${what}: expected HTTP ${status}, got ${response.status}: ${response.text.slice(0, 500)}`);
  }
  return response;
}

function withDigest(location, base, digest) {
  const url = new URL(location, base);
  url.searchParams.set('digest', digest);
  return url.href;
}

async function startUpload(base, repo) {
  const response = expectStatus(`POST ${repo} upload`, await send(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' }), 202);
  return new URL(response.headers.location, base).href;
}

/** POST, then one PUT carrying the whole blob (`{ seed, size, digest }`). */
async function pushMonolithic(base, repo, blob) {
  const location = await startUpload(base, repo);
  const response = await send(withDigest(location, base, blob.digest), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: { chunks: blobChunks(blob.seed, 0, blob.size), length: blob.size },
  });
  expectStatus(`PUT ${repo} ${blob.digest}`, response, 201);
}

/** POST, PATCHes of `chunkSize` bytes (with Content-Range), then a PUT with no body. */
async function pushChunked(base, repo, blob, chunkSize) {
  let location = await startUpload(base, repo);
  for (let start = 0; start < blob.size; start += chunkSize) {
    const end = Math.min(blob.size, start + chunkSize);
    const response = await send(location, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}` },
      body: { chunks: blobChunks(blob.seed, start, end), length: end - start },
    });
    expectStatus(`PATCH ${repo} ${start}-${end - 1}`, response, 202);
    location = new URL(response.headers.location, base).href;
  }
  expectStatus(`PUT ${repo} ${blob.digest}`, await send(withDigest(location, base, blob.digest), { method: 'PUT' }), 201);
}

/** Pushes small in-memory content as a blob; resolves with its descriptor. */
async function pushBytes(base, repo, bytes, mediaType) {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const location = await startUpload(base, repo);
  const response = await send(withDigest(location, base, digest), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  expectStatus(`PUT ${repo} ${digest}`, response, 201);
  return { mediaType, digest, size: bytes.length };
}

/** Cross-repository mount of a blob that `from` holds. */
async function mountBlob(base, repo, from, digest) {
  const url = `${base}/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
  expectStatus(`mount ${digest} into ${repo}`, await send(url, { method: 'POST' }), 201);
}

async function putManifest(base, repo, reference, bytes, mediaType = MEDIA.manifest) {
  const response = await send(`${base}/v2/${repo}/manifests/${reference}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: bytes });
  expectStatus(`PUT manifest ${repo}:${reference}`, response, 201);
}

/** Streams a blob back and resolves with `{ size, digest }` of what the registry sent. */
function fetchBlobDigest(base, repo, digest) {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}/v2/${repo}/blobs/${digest}`, { agent }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`GET ${repo} ${digest}: HTTP ${res.statusCode}`));
        }
        const hash = createHash('sha256');
        let size = 0;
        res.on('data', (d) => {
          hash.update(d);
          size += d.length;
        });
        res.on('error', reject);
        res.on('end', () => resolve({ size, digest: `sha256:${hash.digest('hex')}` }));
      })
      .on('error', reject);
  });
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at a time. */
async function pool(count, concurrency, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

module.exports = { MEDIA, dropIdleConnections, fetchBlobDigest, mountBlob, pool, pushBytes, pushChunked, pushMonolithic, putManifest, send };

'use strict';
// Soak rows: one server, several back-to-back runs of many mixed clients (chunked pushes, blob
// pulls, manifest reads, PATCHes cut mid-body, bad input), the server's resident memory (all its
// processes, rss.js) read after each run once the server is idle again. Memory that every run adds
// and none gives back shows as a row that keeps climbing; a bounded server levels off.
const http = require('node:http');
const net = require('node:net');
const { createHash } = require('node:crypto');
const { sampleRss } = require('../rss');
const { dropIdleConnections, pushBytes, pushChunked, putManifest, send, MEDIA } = require('../registry-client');
const { blob } = require('../blobdata');

const REPOS = 20;
/** What a cut PATCH sends of the 1 MiB it announces. */
const CUT_BODY = Buffer.alloc(256 * 1024, 'x');
/** After a run, the server gets this long with no clients before its memory is read. */
const IDLE_MS = 5_000;

function specs(options) {
  const after = (k) => ({
    id: `soak-rss-${k}`,
    label: `RSS (all processes) after soak run ${k} of ${options.soakRuns} (${options.soakClients} clients × ${options.soakSeconds} s)`,
    unit: 'MiB',
    better: 'lower',
    aggregate: 'max',
    noRatio: true,
  });
  return {
    before: { ...after(0), id: 'soak-rss-0', label: 'RSS (all processes) before the soak runs (after seeding)' },
    after,
    growth: {
      id: 'soak-rss-growth',
      label: `RSS growth from soak run 2 to run ${options.soakRuns} (a bounded server levels off after the first)`,
      unit: 'MiB',
      better: 'lower',
      aggregate: 'max',
      noRatio: true,
    },
    requests: { id: 'soak-requests', label: 'requests answered per soak run (median)', unit: 'req', better: 'higher', noRatio: true },
  };
}

/** A PATCH that announces more bytes than it sends, then a request the parser takes for body, then a cut. */
function cutPatch(base, location) {
  const url = new URL(location, base);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      socket.write(
        `PATCH ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${1024 * 1024}\r\n\r\n`,
      );
      socket.write(CUT_BODY);
      socket.write(`GET /v2/ HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
      setTimeout(() => (Math.random() < 0.5 ? socket.end() : socket.destroy()), 5);
    });
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

/** Reads a response to its end and resolves with its status. */
function drained(url, { method = 'GET', headers = {}, agent } = {}) {
  return new Promise((resolve, reject) => {
    http
      .request(url, { method, headers, agent }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      })
      .on('error', reject)
      .end();
  });
}

/** One client: random operations until `deadline`; counts requests and unexpected answers. */
async function client(base, seeded, deadline, index, counts, agent) {
  let n = 0;
  const repo = `soak/r${index % REPOS}`;
  while (Date.now() < deadline) {
    n++;
    const pick = Math.random();
    try {
      if (pick < 0.25) {
        // A chunked push (POST, 2 PATCHes, PUT) of a 1 MiB blob nobody pushed before.
        await pushChunked(base, repo, blob(`soak-${process.pid}-${index}-${n}`, 1024 * 1024), 512 * 1024);
        counts.requests += 4;
      } else if (pick < 0.55) {
        const status = await drained(`${base}/v2/${seeded.repo}/blobs/${seeded.layer}`, { agent });
        counts.requests++;
        if (status !== 200) counts.unexpected++;
      } else if (pick < 0.8) {
        const method = Math.random() < 0.5 ? 'HEAD' : 'GET';
        const status = await drained(`${base}/v2/${seeded.repo}/manifests/latest`, { method, headers: { accept: MEDIA.manifest }, agent });
        counts.requests++;
        if (status !== 200) counts.unexpected++;
      } else if (pick < 0.9) {
        const post = await send(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
        await cutPatch(base, post.headers.location);
        counts.requests += 2;
      } else {
        // Client mistakes: a wrong digest, an out-of-order chunk, an unknown session.
        const post = await send(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
        const location = new URL(post.headers.location, base);
        const range = await send(location.href, { method: 'PATCH', headers: { 'content-range': '100-199' }, body: Buffer.alloc(100) });
        location.searchParams.set('digest', `sha256:${'0'.repeat(64)}`);
        const wrong = await send(location.href, { method: 'PUT', body: Buffer.alloc(10) });
        const unknown = await send(`${base}/v2/${repo}/blobs/uploads/00000000-0000-4000-8000-000000000000`, { method: 'PATCH', body: Buffer.alloc(10) });
        counts.requests += 4;
        if (range.status !== 416 || wrong.status !== 400 || unknown.status !== 404) counts.unexpected++;
      }
    } catch (error) {
      counts.failed++;
      counts.firstFailure ??= String(error?.message ?? error).slice(0, 300);
    }
  }
}

/** Pushes a small image (one 1 MiB layer) for the clients to pull. */
async function seed(base) {
  const repo = 'soak/seeded';
  const layerBytes = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < layerBytes.length; i += 32) createHash('sha256').update(String(i)).digest().copy(layerBytes, i);
  const layer = await pushBytes(base, repo, layerBytes, MEDIA.layer);
  const config = await pushBytes(base, repo, Buffer.from('{"architecture":"amd64","os":"linux"}'), MEDIA.config);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: [layer] }));
  await putManifest(base, repo, 'latest', manifest);
  return { repo, layer: layer.digest };
}

/** The server's resident memory now (all its processes, shared pages once). */
function rssNow(pid) {
  return sampleRss(pid, 60_000).stop().sampledPeakMiB;
}

async function soakRows(ctx, wanted) {
  const { options } = ctx;
  if (!options.soakAsked || !wanted('soak-rss')) return;
  const s = specs(options);
  // Berth only: the rows follow one server's memory across runs, there is nothing to compare run by run.
  await ctx.withServers(['berth'], async ({ berth: server }) => {
    const seeded = await seed(server.url);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const rss = [rssNow(server.pid)];
    ctx.record(s.before, 'berth', rss[0]);
    ctx.log(`soak: ${rss[0].toFixed(0)} MiB before the runs`);
    for (let run = 1; run <= options.soakRuns; run++) {
      const done = await ctx.settle(`soak run ${run}`);
      dropIdleConnections();
      const counts = { requests: 0, unexpected: 0, failed: 0 };
      const agent = new http.Agent({ keepAlive: true, maxSockets: options.soakClients });
      const deadline = Date.now() + options.soakSeconds * 1000;
      await Promise.all(Array.from({ length: options.soakClients }, (_, i) => client(server.url, seeded, deadline, i, counts, agent)));
      agent.destroy();
      done();
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      rss.push(rssNow(server.pid));
      ctx.record(s.after(run), 'berth', rss[run]);
      ctx.record(s.requests, 'berth', counts.requests);
      ctx.log(
        `soak run ${run}/${options.soakRuns}: ${counts.requests} requests (${counts.unexpected} unexpected answers, ${counts.failed} failed clients' operations${counts.firstFailure ? `, the first: ${counts.firstFailure}` : ''}), RSS ${rss[run].toFixed(0)} MiB`,
      );
    }
    if (options.soakRuns >= 2) ctx.record(s.growth, 'berth', rss[options.soakRuns] - rss[1]);
    ctx.log(`soak: RSS after each run ${rss.map((m) => m.toFixed(0)).join(' → ')} MiB`);
  });
}

module.exports = { soakRows, client, seed };

'use strict';
// `node bench/manifest-checks.js [layers] [distinct 0|1] [concurrent PUTs]` (after `npx tsc -b`):
// PUTs image manifests listing many layers (one layer repeated, or distinct ones) to a Berth app on
// an in-memory driver in a child process, and prints what the server spent: its CPU time during the
// PUTs, its longest event-loop gap, and the slowest `GET /v2/` answered meanwhile. CPU time is the
// figure to compare on a busy machine; the wall-clock figures include waiting for a core.
const { fork } = require('node:child_process');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');

function serve() {
  const { createApp } = require(join(ROOT, 'packages/api'));
  const { createInMemoryDriver } = require(join(ROOT, 'packages/driver-inmemory'));
  const { silentLogger } = require(join(ROOT, 'packages/logging'));
  const { Digest, pathFor } = require(join(ROOT, 'packages/registry'));
  const driver = createInMemoryDriver();
  const options = { driver, logger: silentLogger(), deleteEnabled: true, readOnly: false, redirect: false, secret: 'bench' };
  const app = createApp({ ...options, relativeUrls: false, catalogMaxEntries: 1000, manifestMaxBytes: 16 * 1024 * 1024 });
  let last = performance.now();
  let maxGap = 0;
  let cpu = process.cpuUsage();
  setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 5);
  process.on('message', async (message) => {
    if (message.blobs) {
      // Straight into storage and linked into `app`: uploads are not what is measured.
      const descriptors = [];
      for (const text of message.blobs) {
        const content = Buffer.from(text);
        const digest = Digest.fromBytes(content);
        await driver.putContent(pathFor({ kind: 'blobData', digest }), content);
        await driver.putContent(pathFor({ kind: 'layerLink', name: 'app', digest }), Buffer.from(digest.toString()));
        descriptors.push({ digest: digest.toString(), size: content.length });
      }
      process.send({ descriptors });
    } else if (message.reset) {
      maxGap = 0;
      last = performance.now();
      cpu = process.cpuUsage();
      process.send({});
    } else if (message.report) {
      const used = process.cpuUsage(cpu);
      process.send({ maxGap, cpuMs: (used.user + used.system) / 1000 });
    }
  });
  const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}

async function main() {
  const layers = Number(process.argv[2] ?? 50_000);
  const distinct = process.argv[3] === '1';
  const concurrent = Number(process.argv[4] ?? 1);
  const child = fork(join(__dirname, 'manifest-checks.js'), ['--serve']);
  const next = () => new Promise((resolve) => child.once('message', resolve));
  const ask = (message) => {
    const answer = next();
    child.send(message);
    return answer;
  };
  const { port } = await next();
  const base = `http://127.0.0.1:${port}`;
  const texts = ['{"os":"linux"}', ...(distinct ? Array.from({ length: layers }, (_, i) => `layer ${i}`) : ['layer'])];
  const [config, ...stored] = (await ask({ blobs: texts })).descriptors;
  const listed = distinct ? stored : Array.from({ length: layers }, () => stored[0]);
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: listed.map((d) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...d })),
    }),
  );
  await ask({ reset: true });
  let done = false;
  let slowestPing = 0;
  const pinger = (async () => {
    while (!done) {
      const started = performance.now();
      await (await fetch(`${base}/v2/`)).arrayBuffer();
      slowestPing = Math.max(slowestPing, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const started = performance.now();
  const headers = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' };
  const answers = await Promise.all(
    Array.from({ length: concurrent }, (_, i) => fetch(`${base}/v2/app/manifests/t${i}`, { method: 'PUT', body, headers })),
  );
  const totalMs = performance.now() - started;
  done = true;
  await pinger;
  const { maxGap, cpuMs } = await ask({ report: true });
  child.kill();
  const result = {
    layers,
    distinct,
    bytes: body.length,
    concurrent,
    statuses: answers.map((a) => a.status),
    totalMs: Math.round(totalMs),
    serverCpuMs: Math.round(cpuMs),
    serverMaxEventLoopGapMs: Math.round(maxGap),
    slowestGetV2Ms: Math.round(slowestPing),
  };
  console.log(JSON.stringify(result));
}

if (process.argv[2] === '--serve') serve();
else main().catch((error) => {
  console.error(error);
  process.exit(1);
});

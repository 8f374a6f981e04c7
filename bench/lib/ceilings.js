'use strict';
// Loopback ceilings of the clients and of Node's HTTP stack on this machine, measured with the
// same clients as the blob rows against a server that neither stores nor hashes (null-server.js):
// no registry written in Node can push or pull faster than these.
const { join } = require('node:path');
const { blobChunks } = require('./blobdata');
const { curlGet, curlGetAll } = require('./curl');
const { freePort, makeTempDir, removeTempDir, spawnLogged } = require('./processes');
const { send } = require('./registry-client');

async function startNullServer() {
  const port = await freePort();
  const dir = makeTempDir('null-server');
  const proc = spawnLogged(process.execPath, [join(__dirname, 'null-server.js'), String(port)], { logPath: join(dir, 'log') });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/bytes/1`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 200 || !proc.running()) throw new Error(`null server did not start:\n${proc.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, stop: async () => (await proc.stop(), removeTempDir(dir)) };
}

/** Median MB/s of `runs` single pulls, 8 parallel pulls and single pushes against the null server. */
async function measureCeilings(options, settle) {
  const server = await startNullServer();
  const rates = { push: [], pull: [], pull8: [] };
  try {
    for (let run = 0; run < options.runs; run++) {
      let done = await settle('ceiling-push');
      const started = process.hrtime.bigint();
      const response = await send(`${server.url}/upload`, { method: 'PUT', body: { chunks: blobChunks('ceiling', 0, options.size), length: options.size } });
      if (response.status !== 201) throw new Error(`null server PUT: HTTP ${response.status}`);
      rates.push.push(options.size / (Number(process.hrtime.bigint() - started) / 1e9) / 1e6);
      done();
      done = await settle('ceiling-pull');
      const one = await curlGet(`${server.url}/bytes/${options.size}`);
      rates.pull.push(one.bytes / one.seconds / 1e6);
      done();
      done = await settle('ceiling-pull-8x');
      const eight = await curlGetAll(Array.from({ length: 8 }, () => `${server.url}/bytes/${options.parallelSize}`));
      rates.pull8.push(eight.bytes / eight.seconds / 1e6);
      done();
    }
  } finally {
    await server.stop();
  }
  return rates;
}

module.exports = { measureCeilings };

'use strict';
// The web UI on a large registry: 10,000 repositories, and one repository with 10,000 tags.
// Measures the JSON API (cold: first request after start; warm: the next one) and, in Chromium,
// the time from navigation to a rendered page (the page marks <main data-rendered>).
//   npm run build && node bench/ui.js [--driver inmemory|filesystem] [--repositories N] [--tags N]
// Reported in docs/ui.md#speed; never asserted in a test.
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Readable } = require('node:stream');
const { createHash } = require('node:crypto');
const { createApp } = require('../packages/api');
const { Registry, Digest } = require('../packages/registry');
const { createInMemoryDriver } = require('../packages/driver-inmemory');
const { filesystemDriverFactory } = require('../packages/driver-filesystem');
const { silentLogger } = require('../packages/logging');
const { uiAssets } = require('../packages/ui');

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
}

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function pushBlob(repo, bytes) {
  const session = await repo.uploads.start();
  await repo.uploads.commit(session.id, Digest.parse(sha256(bytes)), Readable.from([bytes]));
}

async function image(repo) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const layer = Buffer.from('a shared layer');
  await pushBlob(repo, config);
  await pushBlob(repo, layer);
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
}

async function inBatches(count, size, fn) {
  for (let i = 0; i < count; i += size) await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, j) => fn(i + j)));
}

async function timed(fn) {
  const started = performance.now();
  const result = await fn();
  return { ms: Math.round(performance.now() - started), result };
}

async function main() {
  const driverName = option('driver', 'inmemory');
  const repositories = Number(option('repositories', '10000'));
  const tags = Number(option('tags', '10000'));
  const root = mkdtempSync(join(tmpdir(), 'berth-bench-ui-'));
  const driver = driverName === 'filesystem' ? await filesystemDriverFactory.create({ rootdirectory: root }, {}) : createInMemoryDriver();
  const registry = new Registry({ driver, deleteEnabled: true });

  const filling = await timed(async () => {
    await inBatches(repositories, 32, async (i) => {
      const repo = registry.repository(`ns${String(i % 50).padStart(2, '0')}/repo-${String(i).padStart(5, '0')}`);
      await repo.manifests.put({ tag: 'latest' }, await image(repo));
    });
    const big = registry.repository('big');
    const bytes = await image(big);
    await inBatches(tags, 32, (i) => big.manifests.put({ tag: `v${String(i).padStart(5, '0')}` }, bytes));
  });
  console.log(`filled ${repositories} repositories and ${tags} tags on ${driverName} in ${filling.ms} ms; load average ${require('node:os').loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  const app = createApp(registry, { logger: silentLogger(), redirect: false, secret: 'bench', relativeUrls: false, accessLogDisabled: true, ui: uiAssets() });
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  const rows = [];
  for (const [what, path] of [
    [`GET /ui/api/repositories (${repositories})`, '/ui/api/repositories'],
    [`GET /ui/api/repositories/big/tags (${tags})`, '/ui/api/repositories/big/tags'],
  ]) {
    for (const run of ['cold', 'warm']) {
      const cpu = process.cpuUsage();
      const { ms, result } = await timed(async () => {
        const res = await fetch(base + path);
        return (await res.arrayBuffer()).byteLength;
      });
      const used = process.cpuUsage(cpu);
      rows.push([`${what}, ${run}`, `${ms} ms wall`, `${Math.round((used.user + used.system) / 1000)} ms CPU`, `${Math.round(result / 1024)} KiB`]);
    }
  }

  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    for (const [what, hash] of [
      [`catalog page, ${repositories} repositories`, '#/'],
      [`catalog page filtered ("repo-0999")`, '#/?q=repo-0999'],
      [`repository page, ${tags} tags`, '#/r/big'],
    ]) {
      for (let run = 1; run <= 3; run++) {
        const page = await browser.newPage();
        await page.goto(`${base}/ui/${hash}`);
        await page.locator('main[data-rendered]').waitFor({ timeout: 60_000 });
        const { total, render, draw } = await page.evaluate(() => {
          const { rendered, draw } = globalThis.document.querySelector('main').dataset;
          return { total: Math.round(performance.now()), render: Number(rendered), draw: Number(draw) };
        });
        rows.push([`${what} (run ${run})`, `${total} ms from navigation`, `${render} ms requests + drawing`, `${draw} ms drawing`]);
        await page.close();
      }
    }
  } finally {
    await browser.close();
    server.close();
    await driver.close?.();
    rmSync(root, { recursive: true, force: true });
  }
  for (const row of rows) console.log(row.join(' | '));
  console.log(`load average ${require('node:os').loadavg().map((l) => l.toFixed(1)).join(' ')} on ${require('node:os').cpus().length} CPUs`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

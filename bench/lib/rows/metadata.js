'use strict';
// Request-rate rows (autocannon, 32 connections): manifest HEAD and GET by tag, tags/list and
// catalog on a small registry, then tags/list with 10,000 tags and catalog with 1,000 repositories.
const { measureRate } = require('../load');
const { send } = require('../registry-client');
const { seedImage, seedRepositories, seedTags } = require('../seed');

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

const rate = (id, label, value) => ({ id, label, unit: 'req/s', better: 'higher', target: { on: 'ratio', op: '>=', value } });
/** S3 requests per API request (s3 only): fewer is better, no target. */
const s3Requests = (id, label) => ({ id: `${id}-s3-requests`, label: `${label}: S3 requests each`, unit: 'S3 req', better: 'lower' });
const p99 = (id, label) => ({ id, label, unit: 'ms', better: 'lower', target: { on: 'ratio', op: '<=', value: 0.2 } });

function specs(options) {
  const c = options.connections;
  const get = options.loadTool;
  return {
    headRate: rate('manifest-head', `manifest HEAD by tag, ${c} conns (ab)`, 5),
    headP99: p99('manifest-head-p99', `manifest HEAD by tag, p99 (ab)`),
    getRate: rate('manifest-get', `manifest GET by tag, ${c} conns (${get})`, 5),
    getP99: p99('manifest-get-p99', `manifest GET by tag, p99 (${get})`),
    tags: rate('tags-list', `tags/list, ${options.fewTags} tags (${get})`, 3),
    catalog: rate('catalog', `catalog, ${options.fewRepos} repositories (${get})`, 3),
    tagsMany: rate('tags-list-many', `tags/list, ${options.manyTags.toLocaleString('en-US')} tags (${get})`, 3),
    catalogMany: rate('catalog-many', `catalog ?n=${options.manyRepos}, ${options.manyRepos.toLocaleString('en-US')} repos (${get})`, 3),
  };
}

/**
 * Counts, once per product after the rate runs, the S3 requests one API request costs (`[spec,
 * method, path]` each), with the gateway's counters: `times` sequential requests after one warm-up.
 */
async function countS3Requests(ctx, servers, rows, times = 20) {
  if (ctx.driver !== 's3') return;
  for (const [spec, method, path] of rows) {
    const row = s3Requests(spec.id, spec.label.replace(/,? \d+ conns.*$| \((autocannon|ab)\)$/, ''));
    for (const product of ctx.products) {
      const url = `${servers[product].url}${path}`;
      const counted = await ctx.s3RequestsPer(async () => {
        const response = await send(url, { method, headers: { accept: ACCEPT } });
        if (response.status !== 200) throw new Error(`${product} ${method} ${path}: HTTP ${response.status}`);
      }, times);
      if (counted) ctx.record(row, product, counted.total);
    }
  }
}

/** Checks once that both registries return the same listing, so that their rates compare like with like. */
async function sameListing(ctx, spec, servers, path, key) {
  const counts = {};
  for (const product of ctx.products) {
    const response = await send(`${servers[product].url}${path}`);
    if (response.status !== 200) throw new Error(`${product} GET ${path}: HTTP ${response.status}`);
    counts[product] = (JSON.parse(response.text)[key] ?? []).length;
  }
  const text = Object.entries(counts)
    .map(([product, n]) => `${product} lists ${n}`)
    .join(', ');
  ctx.log(`${path}: ${text}`);
  if (new Set(Object.values(counts)).size > 1) ctx.note(spec, `listings differ: ${text}`);
}

async function measure(ctx, spec, p99Spec, product, url, method = 'GET') {
  const { options } = ctx;
  const done = await ctx.settle(`${spec.id} ${product}`);
  let result;
  try {
    result = await measureRate(url, {
      method,
      headers: { accept: ACCEPT },
      connections: options.connections,
      durationSeconds: options.duration,
      warmupSeconds: options.warmup,
      tool: options.loadTool,
    });
  } catch (error) {
    // One failed measurement (timeouts, errors) is a finding for this row, not the end of the others.
    ctx.note(spec, `${product}: ${error.message.split('\n')[0]}`);
    ctx.log(`${spec.id} ${product} FAILED: ${error.message}`);
    return;
  } finally {
    done();
  }
  ctx.record(spec, product, result.rps);
  if (p99Spec) ctx.record(p99Spec, product, result.p99);
}

/** Manifest HEAD/GET, tags/list and catalog on a registry with a few repositories and tags. */
async function metadataRows(ctx, wanted) {
  const { options } = ctx;
  const s = specs(options);
  const want = { head: wanted(s.headRate.id), get: wanted(s.getRate.id), tags: wanted(s.tags.id), catalog: wanted(s.catalog.id) };
  if (!Object.values(want).some(Boolean)) return;
  await ctx.withServers(ctx.products, async (servers) => {
    for (const product of ctx.products) {
      const image = await seedImage(servers[product].url, 'bench/app', 'latest');
      await seedTags(servers[product].url, image, options.fewTags - 1);
      await seedRepositories(servers[product].url, image, 'bench/service', options.fewRepos - 1);
    }
    if (want.tags) await sameListing(ctx, s.tags, servers, '/v2/bench/app/tags/list', 'tags');
    if (want.catalog) await sameListing(ctx, s.catalog, servers, '/v2/_catalog', 'repositories');
    for (let run = 0; run < options.runs; run++) {
      for (const product of ctx.order(run)) {
        const { url } = servers[product];
        if (want.head) await measure(ctx, s.headRate, s.headP99, product, `${url}/v2/bench/app/manifests/latest`, 'HEAD');
        if (want.get) await measure(ctx, s.getRate, s.getP99, product, `${url}/v2/bench/app/manifests/latest`);
        if (want.tags) await measure(ctx, s.tags, undefined, product, `${url}/v2/bench/app/tags/list`);
        if (want.catalog) await measure(ctx, s.catalog, undefined, product, `${url}/v2/_catalog`);
      }
      ctx.log(`metadata run ${run + 1}/${options.runs} done`);
    }
    const blob = await send(`${servers[ctx.products[0]].url}/v2/bench/app/manifests/latest`, { headers: { accept: ACCEPT } });
    const layer = JSON.parse(blob.text).layers?.[0]?.digest;
    await countS3Requests(ctx, servers, [
      ...(want.head ? [[s.headRate, 'HEAD', '/v2/bench/app/manifests/latest']] : []),
      ...(want.get ? [[s.getRate, 'GET', '/v2/bench/app/manifests/latest']] : []),
      ...(want.head && layer ? [[{ id: 'blob-head', label: 'blob HEAD' }, 'HEAD', `/v2/bench/app/blobs/${layer}`]] : []),
      ...(want.tags ? [[s.tags, 'GET', '/v2/bench/app/tags/list']] : []),
      ...(want.catalog ? [[s.catalog, 'GET', '/v2/_catalog']] : []),
    ]);
  });
}

/** tags/list of one repository with many tags, and a catalog page listing many repositories. */
async function largeListingRows(ctx, wanted) {
  const { options } = ctx;
  const s = specs(options);
  const want = { tags: wanted(s.tagsMany.id), catalog: wanted(s.catalogMany.id) };
  if (!want.tags && !want.catalog) return;
  await ctx.withServers(ctx.products, async (servers) => {
    for (const product of ctx.products) {
      const { url } = servers[product];
      const started = Date.now();
      const image = await seedImage(url, 'bench/many-tags', 'latest');
      if (want.tags) await seedTags(url, image, options.manyTags - 1);
      if (want.catalog) await seedRepositories(url, image, 'bench/repo', options.manyRepos - 1);
      ctx.log(`seeded ${product} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    const catalogPath = `/v2/_catalog?n=${options.manyRepos}`;
    if (want.tags) await sameListing(ctx, s.tagsMany, servers, '/v2/bench/many-tags/tags/list', 'tags');
    if (want.catalog) await sameListing(ctx, s.catalogMany, servers, catalogPath, 'repositories');
    for (let run = 0; run < options.runs; run++) {
      for (const product of ctx.order(run)) {
        const { url } = servers[product];
        if (want.tags) await measure(ctx, s.tagsMany, undefined, product, `${url}/v2/bench/many-tags/tags/list`);
        if (want.catalog) await measure(ctx, s.catalogMany, undefined, product, `${url}${catalogPath}`);
      }
      ctx.log(`large listing run ${run + 1}/${options.runs} done`);
    }
    await countS3Requests(ctx, servers, [
      ...(want.tags ? [[s.tagsMany, 'GET', '/v2/bench/many-tags/tags/list']] : []),
      ...(want.catalog ? [[s.catalogMany, 'GET', catalogPath]] : []),
    ], 5);
  });
}

module.exports = { largeListingRows, metadataRows };

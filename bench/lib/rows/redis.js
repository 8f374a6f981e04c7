'use strict';
// The redis group: both registries with `storage.cache.blobdescriptor: redis` and one shared
// redis-server (distribution caches blob descriptors there; Berth also tags, links, tag lists and
// small manifests). Manifest HEAD/GET by tag, tags/list and blob HEAD, warm.
const { measureRate } = require('../load');
const { redisInstalled, startRedisServer } = require('../redis');
const { seedImage, seedTags } = require('../seed');

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const rate = (id, label, value) => ({ id, label, unit: 'req/s', better: 'higher', target: { on: 'ratio', op: '>=', value } });
const p99 = (id, label) => ({ id, label, unit: 'ms', better: 'lower', target: { on: 'ratio', op: '<=', value: 0.2 } });

function specs(options) {
  const c = options.connections;
  const get = options.loadTool;
  return {
    head: rate('redis-manifest-head', `redis cache: manifest HEAD by tag, ${c} conns (ab)`, 5),
    headP99: p99('redis-manifest-head-p99', 'redis cache: manifest HEAD by tag, p99 (ab)'),
    get: rate('redis-manifest-get', `redis cache: manifest GET by tag, ${c} conns (${get})`, 5),
    getP99: p99('redis-manifest-get-p99', `redis cache: manifest GET by tag, p99 (${get})`),
    tags: rate('redis-tags-list', `redis cache: tags/list, ${options.fewTags} tags (${get})`, 3),
    blobHead: rate('redis-blob-head', `redis cache: blob HEAD (${get})`, 3),
  };
}

async function measure(ctx, spec, p99Spec, product, url, method) {
  const { options } = ctx;
  const done = await ctx.settle(`${spec.id} ${product}`);
  try {
    const result = await measureRate(url, {
      method,
      headers: { accept: ACCEPT },
      connections: options.connections,
      durationSeconds: options.duration,
      warmupSeconds: options.warmup,
      tool: options.loadTool,
    });
    ctx.record(spec, product, result.rps);
    if (p99Spec) ctx.record(p99Spec, product, result.p99);
  } catch (error) {
    ctx.note(spec, `${product}: ${error.message.split('\n')[0]}`);
  } finally {
    done();
  }
}

async function redisRows(ctx, wanted) {
  const { options } = ctx;
  const s = specs(options);
  const want = { head: wanted(s.head.id), get: wanted(s.get.id), tags: wanted(s.tags.id), blobHead: wanted(s.blobHead.id) };
  if (!Object.values(want).some(Boolean)) return;
  if (!redisInstalled()) {
    for (const spec of Object.values(s)) ctx.note(spec, 'redis-server is not installed (apt-get install -y redis-server)');
    return;
  }
  const redis = await startRedisServer();
  try {
    await ctx.withServers(
      ctx.products,
      async (servers) => {
        const images = {};
        for (const product of ctx.products) {
          images[product] = await seedImage(servers[product].url, 'bench/app', 'latest');
          await seedTags(servers[product].url, images[product], options.fewTags - 1);
        }
        for (let run = 0; run < options.runs; run++) {
          for (const product of ctx.order(run)) {
            const { url } = servers[product];
            const manifest = `${url}/v2/bench/app/manifests/latest`;
            if (want.head) await measure(ctx, s.head, s.headP99, product, manifest, 'HEAD');
            if (want.get) await measure(ctx, s.get, s.getP99, product, manifest, 'GET');
            if (want.tags) await measure(ctx, s.tags, undefined, product, `${url}/v2/bench/app/tags/list`, 'GET');
            if (want.blobHead) await measure(ctx, s.blobHead, undefined, product, `${url}/v2/bench/app/blobs/${images[product].blobs[1]}`, 'HEAD');
          }
          ctx.log(`redis run ${run + 1}/${options.runs} done`);
        }
      },
      { redisAddr: redis.addr },
    );
  } finally {
    await redis.stop();
  }
}

module.exports = { redisRows };

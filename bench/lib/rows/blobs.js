'use strict';
// Blob transfer rows: monolithic push, chunked push (PATCHes), one pull, 8 parallel pulls.
const { blob } = require('../blobdata');
const { curlGet, curlGetAll } = require('../curl');
const { fetchBlobDigest, pool, pushChunked, pushMonolithic } = require('../registry-client');

const MiB = 1 << 20;

/** Blob rows: push ≥ 2.5× and pull ≥ 1.0× distribution on the filesystem, ≥ 1.5× both on S3. */
function specs(driver, options) {
  const size = options.sizeLabel;
  const push = { on: 'ratio', op: '>=', value: driver === 's3' ? 1.5 : 2.5 };
  const pull = { on: 'ratio', op: '>=', value: driver === 's3' ? 1.5 : 1.0 };
  return {
    pushMono: { id: 'push-mono', label: `push ${size}, monolithic (POST + PUT)`, unit: 'MB/s', better: 'higher', target: push },
    pushChunked: { id: 'push-chunked', label: `push ${size}, ${options.chunkLabel} PATCHes`, unit: 'MB/s', better: 'higher', target: push },
    pull: { id: 'pull', label: `pull ${size}`, unit: 'MB/s', better: 'higher', target: pull },
    pull8: { id: 'pull-8x', label: `8 parallel pulls of ${options.parallelLabel}`, unit: 'MB/s', better: 'higher', target: pull },
  };
}

async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const mbps = (bytes, seconds) => bytes / seconds / 1e6;

/** A short push of each kind on a fresh server, so the first timed push is not the JIT's. */
async function warmUp(url) {
  await pushMonolithic(url, 'bench/warmup', blob('warmup-mono', 16 * MiB));
  await pushChunked(url, 'bench/warmup', blob('warmup-chunked', 16 * MiB), 4 * MiB);
}

/** Push rows: every run on freshly started servers with empty storage, one registry at a time. */
async function pushRows(ctx, wanted) {
  const { options } = ctx;
  const s = specs(ctx.driver, options);
  const rows = [s.pushMono, s.pushChunked].filter((spec) => wanted(spec.id));
  if (rows.length === 0) return;
  ctx.log(`hashing the push blobs (${options.sizeLabel})`);
  const monoBlob = blob('push-mono', options.size);
  const chunkedBlob = blob('push-chunked', options.size);
  for (let run = 0; run < options.runs; run++) {
    for (const product of ctx.order(run)) {
      await ctx.withServers([product], async ({ [product]: server }) => {
        await warmUp(server.url);
        if (wanted(s.pushMono.id)) {
          const done = await ctx.settle(`${s.pushMono.id} ${product}`);
          const seconds = await timed(() => pushMonolithic(server.url, 'bench/push-mono', monoBlob));
          done();
          ctx.record(s.pushMono, product, mbps(options.size, seconds));
        }
        if (wanted(s.pushChunked.id)) {
          const done = await ctx.settle(`${s.pushChunked.id} ${product}`);
          const seconds = await timed(() => pushChunked(server.url, 'bench/push-chunked', chunkedBlob, options.chunk));
          done();
          ctx.record(s.pushChunked, product, mbps(options.size, seconds));
        }
        ctx.log(`push run ${run + 1}/${options.runs} ${product} done`);
      });
    }
  }
}

/** Pull rows: the blobs pushed once to both servers, checked once, then pulled with curl. */
async function pullRows(ctx, wanted) {
  const { options } = ctx;
  const s = specs(ctx.driver, options);
  if (!wanted(s.pull.id) && !wanted(s.pull8.id)) return;
  ctx.log('hashing the pull blobs');
  const big = blob('pull', options.size);
  const parallel = Array.from({ length: 8 }, (_, i) => blob(`pull-parallel-${i}`, options.parallelSize));
  await ctx.withServers(ctx.products, async (servers) => {
    for (const product of ctx.products) {
      const { url } = servers[product];
      if (wanted(s.pull.id)) {
        await pushMonolithic(url, 'bench/pull', big);
        const got = await fetchBlobDigest(url, 'bench/pull', big.digest);
        if (got.digest !== big.digest || got.size !== big.size) throw new Error(`${product} served ${got.size} bytes hashing to ${got.digest} for ${big.digest}`);
        await curlGet(`${url}/v2/bench/pull/blobs/${big.digest}`); // warm-up
      }
      if (wanted(s.pull8.id)) await pool(parallel.length, 2, (i) => pushMonolithic(url, 'bench/pull-parallel', parallel[i]));
    }
    for (let run = 0; run < options.runs; run++) {
      for (const product of ctx.order(run)) {
        const { url } = servers[product];
        if (wanted(s.pull.id)) {
          const done = await ctx.settle(`${s.pull.id} ${product}`);
          const { seconds, bytes } = await curlGet(`${url}/v2/bench/pull/blobs/${big.digest}`);
          done();
          if (bytes !== big.size) throw new Error(`${product}: pulled ${bytes} of ${big.size} bytes`);
          ctx.record(s.pull, product, mbps(bytes, seconds));
        }
        if (wanted(s.pull8.id)) {
          const done = await ctx.settle(`${s.pull8.id} ${product}`);
          const { seconds, bytes } = await curlGetAll(parallel.map((b) => `${url}/v2/bench/pull-parallel/blobs/${b.digest}`));
          done();
          if (bytes !== 8 * options.parallelSize) throw new Error(`${product}: pulled ${bytes} of ${8 * options.parallelSize} bytes`);
          ctx.record(s.pull8, product, mbps(bytes, seconds));
        }
      }
      ctx.log(`pull run ${run + 1}/${options.runs} done`);
    }
  });
}

module.exports = { pullRows, pushRows, warmUp };

'use strict';
// Memory rows: the server's peak resident memory (all its processes, shared pages counted once:
// rss.js) during 1 push of the full size, 8 concurrent pushes of a quarter of it, 8 concurrent
// pushes of the full size and 16 concurrent pushes of a quarter (fresh server per run, one
// registry running at a time); the growth between them; the aggregate rate of the 8 full pushes.
const { totalmem } = require('node:os');
const { blob } = require('../blobdata');
const { pushMonolithic } = require('../registry-client');
const { sampleRss } = require('../rss');
const { warmUp } = require('./blobs');

const LIMIT_MIB = 256;
const GROWTH_MIB = 32;

function specs(options) {
  const peak = (id, label) => ({ id, label, unit: 'MiB', better: 'lower', aggregate: 'max', target: { on: 'berth', op: '<=', value: LIMIT_MIB } });
  const growth = (id, label) => ({ id, label, unit: 'MiB', better: 'lower', aggregate: 'max', noRatio: true, target: { on: 'berth', op: '<=', value: GROWTH_MIB } });
  return {
    one: peak('rss-1', `peak RSS (all processes), 1 push of ${options.sizeLabel}`),
    eightSmall: peak('rss-8-small', `peak RSS (all processes), 8 concurrent pushes of ${options.parallelLabel}`),
    eight: peak('rss-8', `peak RSS (all processes), 8 concurrent pushes of ${options.sizeLabel}`),
    bySize: growth('rss-growth-size', `RSS growth with blob size (8×${options.sizeLabel} − 8×${options.parallelLabel})`),
    byClients: growth('rss-growth-clients', `RSS growth with clients (8×${options.sizeLabel} − 1×${options.sizeLabel})`),
    sixteenSmall: peak('rss-16-small', `peak RSS (all processes), 16 concurrent pushes of ${options.parallelLabel}`),
    beyond: growth('rss-growth-clients-16', `RSS growth from 8 to 16 clients (16×${options.parallelLabel} − 8×${options.parallelLabel})`),
    hwmSum: {
      id: 'rss-8-hwm-sum',
      label: `sum of each process's own RSS peak (upper bound), 8 concurrent pushes of ${options.sizeLabel}`,
      unit: 'MiB',
      better: 'lower',
      aggregate: 'max',
    },
    rate: { id: 'push-8x', label: `8 concurrent pushes of ${options.sizeLabel}, aggregate`, unit: 'MB/s', better: 'higher' },
  };
}

/** Pushes `blobs` concurrently (one repository each) while sampling the server's RSS. */
async function pushAllSampled(server, blobs, label) {
  const sampler = sampleRss(server.pid);
  const started = process.hrtime.bigint();
  const pushed = await Promise.allSettled(blobs.map((b, i) => pushMonolithic(server.url, `bench/${label}-${i}`, b)));
  const rss = sampler.stop();
  const failed = pushed.find((p) => p.status === 'rejected');
  if (failed) throw failed.reason;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { rss, mbps: blobs.reduce((sum, b) => sum + b.size, 0) / seconds / 1e6 };
}

/**
 * A memstore RGW keeps every object in RAM, about twice over for a registry push (the upload's
 * parts, then the blob's copy): 8 × 1 GiB pushes drove ceph-osd to 23 GiB and the kernel's OOM
 * killer on a 24 GiB machine. Refuses a memory group that would need more than half the RAM.
 */
function refuseMemstoreOverflow(ctx) {
  const { options } = ctx;
  if (ctx.driver !== 's3' || options.rgwStore !== 'memstore') return;
  const needed = 2 * (options.size + 24 * options.parallelSize + 8 * options.size);
  if (needed > totalmem() / 2) {
    throw new Error(
      `the memory rows would put about ${(needed / 2 ** 30).toFixed(0)} GiB into the memstore RGW's RAM (limit: half of ${(totalmem() / 2 ** 30).toFixed(0)} GiB); use a smaller --size for the s3 memory rows (e.g. --only memory --size 256MiB)`,
    );
  }
}

async function memoryRows(ctx, wanted) {
  const { options } = ctx;
  const s = specs(options);
  if (!['rss-1', 'rss-8-small', 'rss-8', 'push-8x'].some(wanted)) return;
  refuseMemstoreOverflow(ctx);
  ctx.log('hashing the 33 blobs of the memory rows');
  const one = [blob('rss-one', options.size)];
  const eightSmall = Array.from({ length: 8 }, (_, i) => blob(`rss-small-${i}`, options.parallelSize));
  const eight = Array.from({ length: 8 }, (_, i) => blob(`rss-full-${i}`, options.size));
  const sixteenSmall = Array.from({ length: 16 }, (_, i) => blob(`rss-small16-${i}`, options.parallelSize));
  for (let run = 0; run < options.runs; run++) {
    for (const product of ctx.order(run)) {
      await ctx.withServers([product], async ({ [product]: server }) => {
        await warmUp(server.url);
        let done = await ctx.settle(`${s.one.id} ${product}`);
        const a = await pushAllSampled(server, one, 'rss-one');
        done();
        done = await ctx.settle(`${s.eightSmall.id} ${product}`);
        const b = await pushAllSampled(server, eightSmall, 'rss-small');
        done();
        done = await ctx.settle(`${s.eight.id} ${product}`);
        const c = await pushAllSampled(server, eight, 'rss-full');
        done();
        done = await ctx.settle(`${s.sixteenSmall.id} ${product}`);
        const d = await pushAllSampled(server, sixteenSmall, 'rss-small16');
        done();
        if (!c.rss.hwmReset) ctx.note(s.eight, 'VmHWM could not be reset; sampled VmRSS only');
        ctx.record(s.one, product, a.rss.peakMiB);
        ctx.record(s.eightSmall, product, b.rss.peakMiB);
        ctx.record(s.eight, product, c.rss.peakMiB);
        ctx.record(s.bySize, product, c.rss.peakMiB - b.rss.peakMiB);
        ctx.record(s.byClients, product, c.rss.peakMiB - a.rss.peakMiB);
        ctx.record(s.sixteenSmall, product, d.rss.peakMiB);
        ctx.record(s.beyond, product, d.rss.peakMiB - b.rss.peakMiB);
        ctx.record(s.rate, product, c.mbps);
        ctx.record(s.hwmSum, product, c.rss.hwmSumMiB);
        ctx.log(
          `memory run ${run + 1}/${options.runs} ${product} (${c.rss.processes} process(es)): ${a.rss.peakMiB.toFixed(0)} / ${b.rss.peakMiB.toFixed(0)} / ${c.rss.peakMiB.toFixed(0)} MiB`,
        );
      });
    }
  }
}

module.exports = { memoryRows };

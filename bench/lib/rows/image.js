'use strict';
// The image rows: a 20-layer image pushed with skopeo from an OCI layout, and pulled back.
const { join } = require('node:path');
const { makeTempDir } = require('../processes');
const { buildLayout, skopeoPull, skopeoPush } = require('../skopeo');
const { warmUp } = require('./blobs');

const MiB = 1 << 20;
/** Layer content sizes of the full image (188 MiB in 20 layers, a few large and many small). */
const FULL_LAYERS_MIB = [64, 32, 16, 16, 8, 8, 8, 8, 4, 4, 4, 4, 2, 2, 2, 2, 1, 1, 1, 1];

let layout; // built once per process, shared by both drivers

function specs(options) {
  const what = `20-layer image (${options.imageLabel})`;
  return {
    push: { id: 'skopeo-push', label: `skopeo push, ${what}`, unit: 'MB/s', better: 'higher' },
    pull: { id: 'skopeo-pull', label: `skopeo pull, ${what}`, unit: 'MB/s', better: 'higher' },
  };
}

function layerSizes(options) {
  return FULL_LAYERS_MIB.map((mib) => Math.max(64 * 1024, Math.round((mib * MiB) / options.imageDivisor)));
}

async function imageRows(ctx, wanted) {
  const { options } = ctx;
  const s = specs(options);
  if (!wanted(s.push.id) && !wanted(s.pull.id)) return;
  if (!layout) {
    ctx.log('building the 20-layer OCI layout');
    layout = await buildLayout(makeTempDir('layout'), layerSizes(options));
  }
  const scratch = makeTempDir('skopeo-pull');
  // Fresh servers (new ports, empty storage) for every push: skopeo remembers where it has seen
  // each blob (its blob info cache) and mounts it from there instead of uploading it, so a second
  // push to the same registry would measure mounts, not uploads.
  for (let run = 0; run < options.runs; run++) {
    for (const product of ctx.order(run)) {
      await ctx.withServers([product], async ({ [product]: server }) => {
        await warmUp(server.url);
        const pushed = await ctx.settle(`skopeo-push ${product}`);
        const pushSeconds = await skopeoPush(layout.dir, server.hostPort, 'bench/image');
        pushed();
        if (wanted(s.push.id)) ctx.record(s.push, product, layout.bytes / pushSeconds / 1e6);
        if (wanted(s.pull.id)) {
          const pulled = await ctx.settle(`skopeo-pull ${product}`);
          const pullSeconds = await skopeoPull(server.hostPort, 'bench/image', join(scratch, `${product}-${run}`));
          pulled();
          ctx.record(s.pull, product, layout.bytes / pullSeconds / 1e6);
        }
      });
    }
    ctx.log(`image run ${run + 1}/${options.runs} done`);
  }
}

module.exports = { imageRows, FULL_LAYERS_MIB };

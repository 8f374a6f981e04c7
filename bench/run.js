'use strict';
// `npm run bench`: Berth against CNCF distribution 2.8.2 on loopback, same storage, same run.
// See docs/benchmarks.md and `npm run bench -- --help`.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { parseOptions } = require('./lib/options');
const { setKeepTemp } = require('./lib/processes');
const { distributionInstalled, DOCKER_REGISTRY } = require('./lib/servers');
const { startRgw } = require('./lib/s3');
const { createContext } = require('./lib/context');
const { describeMachine } = require('./lib/machine');
const { Results, median } = require('./lib/results');
const { markdownTable, textTable } = require('./lib/table');
const { pullRows, pushRows } = require('./lib/rows/blobs');
const { largeListingRows, metadataRows } = require('./lib/rows/metadata');
const { imageRows } = require('./lib/rows/image');
const { memoryRows } = require('./lib/rows/memory');
const { soakRows } = require('./lib/rows/soak');
const { redisRows } = require('./lib/rows/redis');
const { measureCeilings } = require('./lib/ceilings');

const GROUP_RUNNERS = [
  ['push', pushRows],
  ['pull', pullRows],
  ['metadata', metadataRows],
  ['listing', largeListingRows],
  ['image', imageRows],
  ['memory', memoryRows],
  ['soak', soakRows],
  ['redis', redisRows],
];

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) return void process.stdout.write(options.help);
  setKeepTemp(options.keep);
  const products = ['berth'];
  if (options.withDistribution && distributionInstalled()) products.push('distribution');
  else if (options.withDistribution) console.error(`bench: ${DOCKER_REGISTRY} is not installed; measuring Berth only (apt-get install docker-registry)`);
  if (options.profileDir) mkdirSync(options.profileDir, { recursive: true });

  const machine = await describeMachine();
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  console.error(`bench: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}; ${products.join(' vs ')}`);
  const results = new Results();
  const failures = [];
  const started = Date.now();
  let ceilings;
  if (options.wanted('ceilings')) {
    const loopback = createContext({ options, driver: 'loopback', products, results });
    loopback.log('measuring the ceilings (null server)');
    try {
      const rates = await measureCeilings(options, loopback.settle);
      ceilings = Object.fromEntries(Object.entries(rates).map(([key, runs]) => [key, { medianMBps: median(runs), runs }]));
    } catch (error) {
      failures.push({ driver: 'loopback', group: 'ceilings', error: error.stack ?? String(error) });
    }
  }
  for (const driver of options.drivers) {
    let rgw;
    if (driver === 's3') {
      console.error(`bench: starting a Ceph RGW (${options.rgwStore})`);
      rgw = await startRgw({ store: options.rgwStore });
    }
    try {
      const ctx = createContext({ options, driver, rgw, products, results });
      for (const [group, runner] of GROUP_RUNNERS) {
        const groupStarted = Date.now();
        try {
          await runner(ctx, options.wanted);
        } catch (error) {
          failures.push({ driver, group, error: error.stack ?? String(error) });
          ctx.log(`${group} FAILED: ${error.stack ?? error}`);
        }
        const seconds = (Date.now() - groupStarted) / 1000;
        if (seconds > 1) ctx.log(`${group} took ${seconds.toFixed(0)} s`);
      }
    } finally {
      if (rgw) await rgw.stop();
    }
  }

  const summary = results.summary();
  const elapsedMinutes = (Date.now() - started) / 60_000;
  console.log(`\n${textTable(summary)}\n`);
  const ceilingText = ceilings
    ? `Loopback ceilings (a Node server that neither stores nor hashes, same clients): push ${options.sizeLabel} ${ceilings.push.medianMBps.toFixed(0)} MB/s, pull ${options.sizeLabel} ${ceilings.pull.medianMBps.toFixed(0)} MB/s, 8 parallel pulls of ${options.parallelLabel} ${ceilings.pull8.medianMBps.toFixed(0)} MB/s`
    : undefined;
  if (ceilingText) console.log(ceilingText);
  for (const record of summary) for (const note of record.notes) console.log(`note: ${record.id} [${record.driver}]: ${note}`);
  const busy = results.measurements.map((m) => m.busy);
  const background = busy.length
    ? { measurements: busy.length, medianBusy: median(busy), maxBusy: Math.max(...busy), overThreshold: busy.filter((b) => b >= options.quietThreshold).length }
    : undefined;
  if (background) {
    const pct = (x) => `${(x * 100).toFixed(0)}%`;
    console.log(
      `background CPU at measurement starts: median ${pct(background.medianBusy)}, max ${pct(background.maxBusy)}; ${background.overThreshold} of ${background.measurements} started above ${pct(options.quietThreshold)}`,
    );
  }
  for (const failure of failures) console.log(`FAILED: ${failure.group} [${failure.driver}]: ${failure.error.split('\n')[0]}`);

  mkdirSync(options.out, { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, '-');
  const base = join(options.out, `${stamp}-${options.drivers.join('+')}${options.quick ? '-quick' : ''}`);
  const { wanted: _wanted, ...optionsJson } = options;
  writeFileSync(`${base}.json`, `${JSON.stringify({ command, machine, options: optionsJson, elapsedMinutes, products, background, ceilings, rows: summary, failures, measurements: results.measurements }, null, 2)}\n`);
  writeFileSync(
    `${base}.md`,
    `Command: \`${command}\` (${elapsedMinutes.toFixed(1)} min)\n\nMachine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, node ${machine.node}, ${machine.distribution}, commit ${machine.commit}\n\n${markdownTable(summary)}\n${ceilingText ? `\n${ceilingText}\n` : ''}`,
  );
  console.log(`results: ${base}.json, ${base}.md (${elapsedMinutes.toFixed(1)} min)`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(`bench: ${error.stack ?? error}`);
  process.exitCode = 1;
});

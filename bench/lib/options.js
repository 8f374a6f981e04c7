'use strict';
// Command-line options of `npm run bench -- …` (see `--help`).
const { parseArgs } = require('node:util');
const { join, resolve } = require('node:path');

const GROUPS = {
  push: ['push-mono', 'push-chunked'],
  pull: ['pull', 'pull-8x'],
  metadata: ['manifest-head', 'manifest-get', 'tags-list', 'catalog'],
  listing: ['tags-list-many', 'catalog-many'],
  image: ['skopeo-push', 'skopeo-pull'],
  memory: ['rss-1', 'rss-8-small', 'rss-8', 'rss-16-small', 'push-8x'],
  ceilings: ['ceilings'],
  soak: ['soak-rss'],
  redis: ['redis-manifest-head', 'redis-manifest-get', 'redis-tags-list', 'redis-blob-head'],
};

const HELP = `Usage: npm run bench -- [options]

Starts Berth and, when installed, CNCF distribution (/usr/bin/docker-registry) on loopback with the
same storage and measures both in the same run. Prints a table (medians of the runs; memory rows:
max) with the ratio Berth / distribution, and writes JSON and Markdown to --out.

  --driver filesystem|s3|both  storage driver(s) (default filesystem; s3 starts a Ceph RGW)
  --size SIZE                  blob size of the push, pull and memory rows (default 1GiB)
  --chunk SIZE                 PATCH size of the chunked push (default 64MiB)
  --parallel-size SIZE         blob size of the 8 parallel pulls / small pushes (default size/4)
  --runs N                     runs per row (default 3); figures are medians
  --only LIST                  rows or groups, comma-separated (groups: ${Object.keys(GROUPS).join(', ')};
                               rows: ${Object.values(GROUPS).flat().join(', ')})
  --duration S                 seconds per request-rate measurement (default 5)
  --warmup S                   autocannon warm-up seconds before each (default 1)
  --connections N              connections of the load tool (default 32)
  --load-tool autocannon|ab    tool for the GET request-rate rows (default autocannon; HEAD: always ab)
  --soak-runs N                soak group (only with --only soak): back-to-back runs on one server (default 6)
  --soak-seconds S             seconds per soak run (default 40)
  --soak-clients N             concurrent mixed clients per soak run (default 200)
  --many-tags N                tags in the large tags/list row (default 10000)
  --many-repos N               repositories in the large catalog row (default 1000)
  --image-divisor N            divide the 188 MiB of the 20-layer image by N (default 1)
  --rgw-store memstore|bluestore  object store of the RGW (default memstore)
  --quiet-wait S               before each measurement wait up to S s for the CPUs to be idle (default 30)
  --quiet-threshold F          "idle" = less than this share of all CPUs busy (default 0.25)
  --workers N                  Berth's http.workers (default: Berth's own, one process per CPU)
  --no-distribution            measure Berth only
  --profile DIR                run Berth under node --cpu-prof, profiles written to DIR
  --out DIR                    results directory (default bench/results)
  --keep                       keep temp dirs (storage, logs) after the run
  --quick                      small sizes, 1 run, short loads (about a minute)
  -h, --help                   this text
`;

function parseSize(text, name) {
  const match = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(String(text).trim());
  if (!match) throw new Error(`--${name}: not a size: ${text} (examples: 1GiB, 256MiB, 1048576)`);
  const unit = (match[2] ?? 'b').toLowerCase()[0];
  const bytes = Math.round(Number(match[1]) * { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit]);
  if (bytes <= 0 || bytes % 16 !== 0) throw new Error(`--${name}: ${text} must be a positive multiple of 16 bytes`);
  return bytes;
}

function sizeLabel(bytes) {
  for (const [unit, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]]) if (bytes % n === 0) return `${bytes / n} ${unit}`;
  return `${bytes} B`;
}

function positiveInt(text, name) {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: not a positive integer: ${text}`);
  return n;
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      driver: { type: 'string', default: 'filesystem' },
      size: { type: 'string' },
      chunk: { type: 'string' },
      'parallel-size': { type: 'string' },
      runs: { type: 'string' },
      only: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '32' },
      'load-tool': { type: 'string', default: 'autocannon' },
      'many-tags': { type: 'string' },
      'soak-runs': { type: 'string' },
      'soak-seconds': { type: 'string' },
      'soak-clients': { type: 'string' },
      'many-repos': { type: 'string' },
      'image-divisor': { type: 'string' },
      'rgw-store': { type: 'string', default: 'memstore' },
      'quiet-wait': { type: 'string' },
      'quiet-threshold': { type: 'string', default: '0.25' },
      workers: { type: 'string' },
      'no-distribution': { type: 'boolean', default: false },
      profile: { type: 'string' },
      out: { type: 'string', default: join(__dirname, '..', 'results') },
      keep: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: HELP };
  const quick = values.quick;
  const drivers = { filesystem: ['filesystem'], s3: ['s3'], both: ['filesystem', 's3'] }[values.driver];
  if (!drivers) throw new Error(`--driver: filesystem, s3 or both (got ${values.driver})`);
  if (!['autocannon', 'ab'].includes(values['load-tool'])) throw new Error('--load-tool: autocannon or ab');
  if (!['memstore', 'bluestore'].includes(values['rgw-store'])) throw new Error('--rgw-store: memstore or bluestore');

  const size = parseSize(values.size ?? (quick ? '64MiB' : '1GiB'), 'size');
  const chunk = parseSize(values.chunk ?? (quick ? '16MiB' : '64MiB'), 'chunk');
  const parallelSize = values['parallel-size'] ? parseSize(values['parallel-size'], 'parallel-size') : Math.max(16, Math.floor(size / 4 / 16) * 16);

  const only = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  const known = new Set([...Object.keys(GROUPS), ...Object.values(GROUPS).flat()]);
  for (const name of only ?? []) if (!known.has(name)) throw new Error(`--only: unknown row or group ${name}`);
  const selected = only ? new Set(only.flatMap((name) => GROUPS[name] ?? [name])) : undefined;
  const imageDivisor = positiveInt(values['image-divisor'] ?? (quick ? '16' : '1'), 'image-divisor');

  return {
    quick,
    drivers,
    size,
    sizeLabel: sizeLabel(size),
    chunk,
    chunkLabel: sizeLabel(chunk),
    parallelSize,
    parallelLabel: sizeLabel(parallelSize),
    runs: positiveInt(values.runs ?? (quick ? '1' : '3'), 'runs'),
    wanted: (id) => !selected || selected.has(id),
    only,
    duration: positiveInt(values.duration ?? (quick ? '2' : '5'), 'duration'),
    warmup: Number(values.warmup ?? '1'),
    connections: positiveInt(values.connections, 'connections'),
    loadTool: values['load-tool'],
    fewTags: 10,
    fewRepos: 10,
    soakRuns: positiveInt(values['soak-runs'] ?? (quick ? '3' : '6'), 'soak-runs'),
    soakSeconds: positiveInt(values['soak-seconds'] ?? (quick ? '10' : '40'), 'soak-seconds'),
    soakClients: positiveInt(values['soak-clients'] ?? (quick ? '50' : '200'), 'soak-clients'),
    /** The soak group is long (runs × seconds): measured only when `--only` names it. */
    soakAsked: (values.only ?? '').split(',').some((name) => ['soak', 'soak-rss'].includes(name.trim())),
    manyTags: positiveInt(values['many-tags'] ?? (quick ? '1000' : '10000'), 'many-tags'),
    manyRepos: positiveInt(values['many-repos'] ?? (quick ? '100' : '1000'), 'many-repos'),
    imageDivisor,
    imageLabel: imageDivisor === 1 ? '188 MiB' : `188/${imageDivisor} MiB`,
    rgwStore: values['rgw-store'],
    quietWait: Number(values['quiet-wait'] ?? (quick ? '3' : '30')),
    quietThreshold: Number(values['quiet-threshold']),
    withDistribution: !values['no-distribution'],
    workers: values.workers === undefined ? undefined : positiveInt(values.workers, 'workers'),
    profileDir: values.profile ? resolve(values.profile) : undefined,
    out: resolve(values.out),
    keep: values.keep,
  };
}

module.exports = { GROUPS, parseOptions };

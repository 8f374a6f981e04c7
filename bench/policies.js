'use strict';
// `node bench/policies.js [--driver filesystem|s3|both] [--repos 1000] [--tags 20]`: how long
// `berth retention --dry-run` and `GET /v2/_berth/usage` take on a registry of REPOS repositories
// with TAGS tags each (every tag its own manifest; a config shared by all, one layer per repository).
// The storage is written directly through the driver (the layout Berth and distribution read), then
// the built `berth` is measured: the retention dry run as a command, the usage on a running serve
// (the first request lists every repository; the next ones answer from the cache; one after a tag
// delete lists again only that repository). Prints a Markdown table. Run `npx tsc -b` first.
const { createHash } = require('node:crypto');
const { spawn } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { parseArgs } = require('node:util');
const { makeTempDir } = require('./lib/processes');
const { startRgw } = require('./lib/s3');
const { REPO_ROOT } = require('./lib/servers');

const BERTH = join(REPO_ROOT, 'packages/cli/bin/berth.js');
const ROOT = '/docker/registry/v2';

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const hexOf = (digest) => digest.slice('sha256:'.length);

async function mapLimit(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Writes REPOS × TAGS manifests, their revision links and tag links. */
async function seed(driver, repos, tags) {
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  await driver.putContent(`${ROOT}/blobs/sha256/${hexOf(sha256(config)).slice(0, 2)}/${hexOf(sha256(config))}/data`, config);
  const work = [];
  for (let r = 0; r < repos; r++) for (let t = 0; t < tags; t++) work.push([r, t]);
  await mapLimit(work, 32, async ([r, t]) => {
    const name = `bench/repo-${String(r).padStart(4, '0')}`;
    const layer = sha256(`layer of ${name}`);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: 1_000_000 + r },
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(`${name}:${t}`), size: 10_000 + t },
        ],
      }),
    );
    const digest = sha256(manifest);
    const hex = hexOf(digest);
    const link = Buffer.from(digest);
    await driver.putContent(`${ROOT}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, manifest);
    await driver.putContent(`${ROOT}/repositories/${name}/_manifests/revisions/sha256/${hex}/link`, link);
    await driver.putContent(`${ROOT}/repositories/${name}/_manifests/tags/t${t}/current/link`, link);
  });
}

function runCommand(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BERTH, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`berth ${args.join(' ')} exited ${code}:\n${stderr}`))));
  });
}

async function startServe(configPath) {
  const child = spawn(process.execPath, [BERTH, 'serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const hostPort = await new Promise((resolve, reject) => {
    const onData = (d) => {
      output += d;
      const m = /listening on ([^\s"]+)/.exec(output);
      if (m) resolve(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`serve exited ${code}:\n${output}`)));
  });
  return { url: `http://${hostPort}`, stop: () => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))) };
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

async function measure(driverName, repos, tags) {
  let storage;
  let rgw;
  if (driverName === 'filesystem') {
    storage = { filesystem: { rootdirectory: makeTempDir('policies-bench') } };
  } else {
    rgw = await startRgw();
    const { s3 } = rgw;
    storage = {
      s3: { region: s3.region, regionendpoint: s3.endpoint, bucket: s3.bucket, accesskey: s3.accessKey, secretkey: s3.secretKey, secure: false, forcepathstyle: true, rootdirectory: '/policies-bench' },
    };
  }
  try {
    const factories = require('@berth/cli').createDriverFactories();
    const [name, params] = Object.entries(storage)[0];
    const driver = await factories.create(name, params, {});
    const seeded = await timed(() => seed(driver, repos, tags));
    await driver.close?.();
    const config = {
      version: '0.1',
      log: { level: 'info' },
      storage: { ...storage, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
      http: { addr: '127.0.0.1:0', secret: 'policies-bench', workers: 1 },
      policies: [{ repositories: ['bench/**'], immutabletags: ['v*'], retention: { keeplast: 10, keeptags: ['t0'] } }],
    };
    const configPath = join(makeTempDir('policies-bench-config'), 'config.yml');
    writeFileSync(configPath, JSON.stringify(config));
    const rows = [[`seed ${repos * tags} manifests (direct driver writes)`, seeded.ms]];
    const dry = await timed(() => runCommand(['retention', '--dry-run', configPath]));
    const summary = dry.value.trim().split('\n').pop();
    rows.push([`berth retention --dry-run (whole command; ${summary})`, dry.ms]);
    const serve = await startServe(configPath);
    try {
      const get = async () => {
        const res = await fetch(`${serve.url}/v2/_berth/usage`);
        if (res.status !== 200) throw new Error(`usage answered ${res.status}`);
        return res.json();
      };
      const cold = await timed(get);
      if (cold.value.repositories.length !== repos) throw new Error(`usage listed ${cold.value.repositories.length} repositories`);
      rows.push([`GET /v2/_berth/usage, first request (lists all ${repos} repositories)`, cold.ms]);
      const warm = [];
      for (let i = 0; i < 5; i++) warm.push((await timed(get)).ms);
      rows.push(['GET /v2/_berth/usage, cached (median of 5)', warm.sort((a, b) => a - b)[2]]);
      // One tag deleted through the API: the next report lists that repository again.
      const deleted = await fetch(`${serve.url}/v2/bench/repo-0000/manifests/t1`, { method: 'DELETE' });
      if (deleted.status !== 202) throw new Error(`tag delete answered ${deleted.status}`);
      const after = await timed(get);
      rows.push(['GET /v2/_berth/usage after a tag delete in one repository', after.ms]);
    } finally {
      await serve.stop();
    }
    return rows;
  } finally {
    await rgw?.stop();
  }
}

async function main() {
  const { values } = parseArgs({
    options: { driver: { type: 'string', default: 'both' }, repos: { type: 'string', default: '1000' }, tags: { type: 'string', default: '20' } },
  });
  const drivers = values.driver === 'both' ? ['filesystem', 's3'] : [values.driver];
  const repos = Number(values.repos);
  const tags = Number(values.tags);
  const lines = [`| driver | measurement (${repos} repositories × ${tags} tags) | ms |`, '|---|---|---:|'];
  for (const driver of drivers) {
    for (const [what, ms] of await measure(driver, repos, tags)) {
      lines.push(`| ${driver} | ${what} | ${Math.round(ms)} |`);
      console.error(`${driver}: ${what}: ${Math.round(ms)} ms`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

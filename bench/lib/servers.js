'use strict';
// Starting the two registries under test on loopback, each on its own storage, with the same
// settings wherever the two have the same key: Berth (the built CLI) and CNCF distribution 2.8.2
// (Debian's docker-registry). Both are configured through distribution's config format.
const { existsSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { freePort, makeTempDir, removeTempDir, spawnLogged } = require('./processes');

const REPO_ROOT = resolve(__dirname, '../..');
const BERTH_BIN = join(REPO_ROOT, 'packages/cli/bin/berth.js');
const DOCKER_REGISTRY = '/usr/bin/docker-registry';

function distributionInstalled() {
  return existsSync(DOCKER_REGISTRY);
}

/** This process's environment without REGISTRY_* variables (which would override the configs). */
function cleanEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('REGISTRY_')) env[key] = value;
  return env;
}

/**
 * The `storage` section for one registry. `storage` is `{ driver: 'filesystem', root }` or
 * `{ driver: 's3', s3: { endpoint, region, bucket, accessKey, secretKey }, prefix }`. Blob reads
 * are streamed through the registry on both drivers (`redirect.disable`), so that pulls measure
 * the registry and not the S3 server. `forProduct` is 'berth' or 'distribution': distribution 2.8
 * infers path-style addressing from `regionendpoint`, Berth takes distribution 3's explicit key.
 */
function storageSection(storage, forProduct) {
  const common = { delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } }, redirect: { disable: true } };
  if (storage.driver === 'filesystem') return { filesystem: { rootdirectory: storage.root }, ...common };
  const { s3 } = storage;
  const params = {
    region: s3.region,
    regionendpoint: s3.endpoint,
    bucket: s3.bucket,
    accesskey: s3.accessKey,
    secretkey: s3.secretKey,
    secure: false,
    v4auth: true,
    chunksize: 10485760,
    rootdirectory: storage.prefix,
  };
  if (forProduct === 'berth') params.forcepathstyle = true;
  return { s3: params, ...common };
}

function registryConfig(storage, forProduct, port, workers, redisAddr) {
  const http = { addr: `127.0.0.1:${port}`, secret: 'berth-bench-shared-secret' };
  if (workers !== undefined) http.workers = workers;
  const config = {
    version: '0.1',
    log: { level: forProduct === 'berth' ? 'warn' : 'error', formatter: 'text', accesslog: { disabled: true } },
    storage: storageSection(storage, forProduct),
    http,
  };
  // The redis group: both share one redis-server (distribution 2.8's `redis.addr`, which Berth reads too).
  if (redisAddr) Object.assign(config, { storage: { ...config.storage, cache: { blobdescriptor: 'redis' } }, redis: { addr: redisAddr } });
  return config;
}

async function waitReady(name, proc, url, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running()) throw new Error(`${name} exited during start-up:\n${proc.log()}`);
    const ok = await fetch(`${url}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not answer ${url}/v2/ within ${timeoutMs} ms:\n${proc.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts one registry. `product` is 'berth' or 'distribution'. Options (Berth only):
 * `cpuProfileDir` (run under `node --cpu-prof`, a profile per process written there when it exits),
 * `workers` (`http.workers`; Berth's default when undefined). Resolves with
 * `{ name, url, hostPort, pid, stop() }` once `/v2/` answers 200.
 */
async function startRegistry(product, storage, { cpuProfileDir, workers, redisAddr } = {}) {
  const port = await freePort();
  const dir = makeTempDir(`${product}-run`);
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, JSON.stringify(registryConfig(storage, product, port, workers, redisAddr), null, 2));
  const logPath = join(dir, 'server.log');
  let proc;
  if (product === 'berth') {
    const nodeArgs = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
    proc = spawnLogged(process.execPath, [...nodeArgs, BERTH_BIN, 'serve', configPath], { logPath, env: cleanEnv(), cwd: REPO_ROOT });
  } else {
    // aws-sdk-go v1 panics at start-up when AWS_CA_BUNDLE is set together with distribution's own
    // HTTP transport ("HTTPClient's transport unsupported type"); the gateway is plain HTTP anyway.
    const { AWS_CA_BUNDLE: _unused, ...env } = cleanEnv();
    proc = spawnLogged(DOCKER_REGISTRY, ['serve', configPath], { logPath, env, cwd: dir });
  }
  const hostPort = `127.0.0.1:${port}`;
  const url = `http://${hostPort}`;
  try {
    await waitReady(product, proc, url);
  } catch (error) {
    await proc.stop('SIGKILL');
    throw error;
  }
  return {
    name: product,
    url,
    hostPort,
    pid: proc.pid,
    log: proc.log,
    /** Stops the server; resolves with its exit status and, when it had exited by itself, its last log lines. */
    async stop() {
      const crashed = !proc.running();
      const status = await proc.stop('SIGTERM');
      const log = crashed ? proc.log() : undefined;
      removeTempDir(dir);
      return { ...status, crashed, log };
    },
  };
}

module.exports = { BERTH_BIN, DOCKER_REGISTRY, REPO_ROOT, distributionInstalled, startRegistry };

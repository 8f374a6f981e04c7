'use strict';
// The S3 server for the s3 rows: a throw-away Ceph RADOS Gateway on loopback started with
// scripts/rgw/start-rgw.sh, and removal of a registry's objects between measurements (so that a
// memstore gateway does not keep every pushed GiB in RAM).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
// The SDK warns once per process that Node 20 support ends; the bench's own client is a helper.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { S3Client, ListObjectsV2Command, DeleteObjectsCommand } = require('@aws-sdk/client-s3');
const { makeTempDir, run, spawnLogged } = require('./processes');
const { REPO_ROOT } = require('./servers');

/**
 * Starts the gateway (its own process group; SIGTERM to the script kills its daemons and removes
 * its directory, which also happens at exit or when this process dies) and resolves once it printed
 * RGW_READY with `{ s3: { endpoint, region, bucket, accessKey, secretKey }, dir, stop() }`.
 */
async function startRgw({ store = 'memstore', timeoutMs = 180_000 } = {}) {
  const logDir = makeTempDir('rgw-log');
  const stdoutPath = join(logDir, 'stdout');
  const proc = spawnLogged('bash', [join(REPO_ROOT, 'scripts/rgw/start-rgw.sh'), '--store', store, '--watch-pid', String(process.pid)], {
    logPath: stdoutPath,
    env: process.env,
    group: true,
  });
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (!/^RGW_READY$/m.test(text)) {
    if (!proc.running()) throw new Error(`start-rgw.sh exited before RGW_READY:\n${proc.log()}`);
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`the gateway was not ready within ${timeoutMs} ms:\n${proc.log()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    text = readFileSync(stdoutPath, 'utf8');
  }
  const env = Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const s3 = {
    endpoint: env.REGISTRY_TEST_S3_REGIONENDPOINT,
    region: env.REGISTRY_TEST_S3_REGION,
    bucket: env.REGISTRY_TEST_S3_BUCKET,
    accessKey: env.REGISTRY_TEST_S3_ACCESSKEY,
    secretKey: env.REGISTRY_TEST_S3_SECRETKEY,
  };
  return { s3, dir: env.BERTH_RGW_DIR, store, stop: () => proc.stop('SIGTERM', 20_000) };
}

function client(s3) {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Deletes every object under `prefix` and has the gateway free the data now (gc process). */
async function deletePrefix(rgw, prefix) {
  const s3client = client(rgw.s3);
  try {
    const Prefix = prefix.replace(/^\/+/, '');
    for (;;) {
      const listed = await s3client.send(new ListObjectsV2Command({ Bucket: rgw.s3.bucket, Prefix, MaxKeys: 1000 }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key }));
      if (keys.length === 0) break;
      await s3client.send(new DeleteObjectsCommand({ Bucket: rgw.s3.bucket, Delete: { Objects: keys, Quiet: true } }));
    }
  } finally {
    s3client.destroy();
  }
  if (rgw.dir) {
    await run('radosgw-admin', ['-c', join(rgw.dir, 'ceph.conf'), '-n', 'client.admin', 'gc', 'process', '--include-all'], { timeoutMs: 300_000 }).catch(
      (error) => console.error(`bench: radosgw-admin gc process failed (data stays until the gateway's own gc): ${error.message.split('\n')[0]}`),
    );
  }
}

/**
 * The gateway's request counters (`perf dump` on its admin socket): `req` every S3 request,
 * `get`/`put` object reads and writes. Undefined when the gateway has no admin socket to ask.
 */
async function rgwCounters(rgw) {
  if (!rgw?.dir) return undefined;
  const { stdout } = await run('ceph', ['--admin-daemon', join(rgw.dir, 'run', 'client.rgw.a.asok'), 'perf', 'dump'], { timeoutMs: 30_000 });
  const { req, get, put } = JSON.parse(stdout).rgw;
  return { req, get, put };
}

module.exports = { deletePrefix, rgwCounters, startRgw };

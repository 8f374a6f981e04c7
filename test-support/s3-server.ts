/**
 * Chooses and starts the S3 server the tests use (jest global setup side; test files read the result
 * through test-support/s3.ts). Order:
 *   1. REGISTRY_TEST_S3_* variables already set (REGISTRY_TEST_S3_BUCKET at least): used as given;
 *   2. MinIO through testcontainers, when a container runtime answers;
 *   3. a Ceph RGW from scripts/rgw/start-rgw.sh, when Debian's ceph packages are installed;
 *   4. none: BERTH_TEST_S3_SKIP says why and S3 suites register as skipped, loudly
 *      (or, with BERTH_REQUIRE_S3=1 as in CI, the run fails).
 * BERTH_TEST_S3=off skips starting anything; BERTH_TEST_S3=minio|rgw forces one kind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingCephExecutable, startRgw, stopRgw } from './rgw';

export type S3Source = 'env' | 'minio' | 'rgw';

/** What global teardown must stop. */
export interface RunningS3 {
  readonly source: S3Source;
  stop(): Promise<void>;
}

const MINIO_IMAGE = process.env.BERTH_TEST_MINIO_IMAGE ?? 'minio/minio:RELEASE.2025-02-28T09-55-16Z';
const BUCKET = 'berth-test';

/** Strings that mark a test file (or a helper next to it) as one that talks to S3. */
const S3_MARKERS = ['test-support/s3', 'REGISTRY_TEST_S3', 'BERTH_TEST_S3', 's3TestParameters'];

/** What jest's global setup is given, as far as the choice needs it. */
export interface SelectionHints {
  rootDir: string;
  /** Paths of the test files jest was asked to run, or undefined when unknown. */
  isSelected?: (absolutePath: string) => boolean;
}

function banner(lines: string[]): void {
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n${lines.map((l) => `!!! ${l}`).join('\n')}\n${bar}\n`);
}

function exportEnv(source: S3Source, env: Record<string, string>): void {
  for (const [key, value] of Object.entries(env)) if (key.startsWith('REGISTRY_TEST_S3_')) process.env[key] = value;
  process.env.BERTH_TEST_S3_SOURCE = source;
  delete process.env.BERTH_TEST_S3_SKIP;
  // The SDK warns once per process that its 2027 releases need Node 22; noise in every test worker.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

function skip(reason: string): undefined {
  process.env.BERTH_TEST_S3_SKIP = reason;
  delete process.env.BERTH_TEST_S3_SOURCE;
  if (process.env.BERTH_REQUIRE_S3 === '1') {
    throw new Error(`BERTH_REQUIRE_S3=1 but no S3 server for the tests: ${reason}`);
  }
  banner([`S3 TESTS WILL BE SKIPPED: ${reason}`, 'Set REGISTRY_TEST_S3_* (see test-support/README.md), or install ceph-mon ceph-osd radosgw ceph-common ceph-base.']);
  return undefined;
}

/** True when some selected test file, or a file beside it in its package's test directory, uses S3. */
export function selectionNeedsS3(hints: SelectionHints): boolean {
  const packagesDir = join(hints.rootDir, 'packages');
  let packages: string[];
  try {
    packages = readdirSync(packagesDir);
  } catch {
    return true;
  }
  for (const pkg of packages) {
    const testDir = join(packagesDir, pkg, 'test');
    const files = listFiles(testDir);
    const selected = files.filter((f) => f.endsWith('.test.ts') && (hints.isSelected?.(f) ?? true));
    if (selected.length === 0) continue;
    if (files.some((f) => f.endsWith('.ts') && S3_MARKERS.some((m) => readFileSync(f, 'utf8').includes(m)))) return true;
  }
  return false;
}

function listFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Starts MinIO, or resolves with the reason it could not (no container runtime). */
async function startMinio(): Promise<RunningS3 | string> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await withTimeout(getContainerRuntimeClient(), 15_000, 'container runtime detection');
  } catch (error) {
    return `no container runtime for MinIO: ${(error as Error).message}`;
  }
  const { MinioContainer } = await import('@testcontainers/minio');
  const started = Date.now();
  const container = await new MinioContainer(MINIO_IMAGE).start();
  const endpoint = container.getConnectionUrl();
  await createBucket(endpoint, container.getUsername(), container.getPassword(), BUCKET);
  exportEnv('minio', {
    REGISTRY_TEST_S3_REGIONENDPOINT: endpoint,
    REGISTRY_TEST_S3_REGION: 'us-east-1',
    REGISTRY_TEST_S3_BUCKET: BUCKET,
    REGISTRY_TEST_S3_ACCESSKEY: container.getUsername(),
    REGISTRY_TEST_S3_SECRETKEY: container.getPassword(),
    REGISTRY_TEST_S3_FORCEPATHSTYLE: 'true',
  });
  console.log(`S3 tests use MinIO ${MINIO_IMAGE} at ${endpoint} (bucket ${BUCKET}), started in ${Date.now() - started} ms`);
  return { source: 'minio', stop: async () => void (await container.stop()) };
}

/** Starts the RGW, or resolves with the reason it could not. */
async function startRgwServer(rootDir: string, why: string): Promise<RunningS3 | string> {
  const missing = missingCephExecutable();
  if (missing) return `no REGISTRY_TEST_S3_* variables, ${why}, and no Ceph RGW (${missing} is not installed)`;
  let rgw;
  try {
    rgw = await startRgw(rootDir);
  } catch (first) {
    // The free ports the script picked may have been taken meanwhile: try once more.
    console.warn(`S3 tests: Ceph RGW failed to start, retrying once: ${(first as Error).message}`);
    try {
      rgw = await startRgw(rootDir);
    } catch (second) {
      return `Ceph RGW failed to start twice: ${(second as Error).message}`;
    }
  }
  exportEnv('rgw', rgw.env);
  process.env.BERTH_TEST_S3_STARTUP_MS = String(rgw.startupMs);
  console.log(
    `S3 tests use Ceph RGW at ${rgw.env.REGISTRY_TEST_S3_REGIONENDPOINT} (bucket ${rgw.env.REGISTRY_TEST_S3_BUCKET}, ` +
      `data in ${rgw.dir}), started in ${rgw.startupMs} ms [${why}]`,
  );
  const stopped = rgw;
  return { source: 'rgw', stop: () => stopRgw(stopped) };
}

/**
 * Makes an S3 server available to the test workers through process.env (REGISTRY_TEST_S3_*,
 * BERTH_TEST_S3_SOURCE) or sets BERTH_TEST_S3_SKIP; prints one line saying which. Resolves with
 * what teardown must stop (nothing for REGISTRY_TEST_S3_* given from outside).
 */
export async function provideS3(hints: SelectionHints): Promise<RunningS3 | undefined> {
  const mode = (process.env.BERTH_TEST_S3 ?? 'auto').toLowerCase();
  if (mode === 'off') {
    process.env.BERTH_TEST_S3_SKIP = 'BERTH_TEST_S3=off';
    console.log('S3 tests: off (BERTH_TEST_S3=off), no S3 server started');
    return undefined;
  }
  if (process.env.REGISTRY_TEST_S3_BUCKET) {
    exportEnv('env', {});
    console.log(
      `S3 tests use the server from REGISTRY_TEST_S3_* (${process.env.REGISTRY_TEST_S3_REGIONENDPOINT ?? `AWS region ${process.env.REGISTRY_TEST_S3_REGION}`}, bucket ${process.env.REGISTRY_TEST_S3_BUCKET})`,
    );
    return undefined;
  }
  if (!selectionNeedsS3(hints)) {
    process.env.BERTH_TEST_S3_SKIP = 'no selected test file uses S3';
    console.log('S3 tests: none selected, no S3 server started');
    return undefined;
  }
  if (mode !== 'auto' && mode !== 'minio' && mode !== 'rgw') {
    throw new Error(`BERTH_TEST_S3 must be auto, off, minio or rgw, got ${JSON.stringify(mode)}`);
  }
  let why = 'BERTH_TEST_S3=rgw';
  if (mode !== 'rgw') {
    const minio = await startMinio();
    if (typeof minio !== 'string') return minio;
    if (mode === 'minio') return skip(`BERTH_TEST_S3=minio but ${minio}`);
    why = minio;
  }
  const rgw = await startRgwServer(hints.rootDir, why);
  return typeof rgw === 'string' ? skip(rgw) : rgw;
}

async function createBucket(endpoint: string, accessKeyId: string, secretAccessKey: string, bucket: string): Promise<void> {
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

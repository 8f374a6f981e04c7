/**
 * For test files that need S3: the server jest's global setup chose (test-support/s3-server.ts)
 * reaches them as REGISTRY_TEST_S3_* variables, one per s3 driver parameter
 * (REGISTRY_TEST_S3_REGIONENDPOINT → `regionendpoint`, …).
 *
 * ```ts
 * const skipReason = s3SkipReason();
 * describeDriverConformance('s3', async () => ({ driver: await create(s3TestParameters('conformance')!) }), { skipReason });
 * ```
 */
import { randomBytes } from 'node:crypto';

const PREFIX = 'REGISTRY_TEST_S3_';

/** Why S3 tests cannot run here, or undefined when a server is available. */
export function s3SkipReason(): string | undefined {
  if (process.env.BERTH_TEST_S3_SKIP) return process.env.BERTH_TEST_S3_SKIP;
  if (!process.env.REGISTRY_TEST_S3_BUCKET) {
    return 'no S3 server: REGISTRY_TEST_S3_BUCKET is unset (did jest run test-support/global-setup.ts?)';
  }
  return undefined;
}

/** Which server the tests use: `rgw`, `minio` or `env` (REGISTRY_TEST_S3_* given from outside). */
export function s3TestSource(): string {
  return process.env.BERTH_TEST_S3_SOURCE ?? 'env';
}

/** One line for test output: which S3 server, where. */
export function describeS3Server(): string {
  const where = process.env.REGISTRY_TEST_S3_REGIONENDPOINT ?? `AWS region ${process.env.REGISTRY_TEST_S3_REGION ?? '?'}`;
  return `S3 server: ${s3TestSource()} at ${where}, bucket ${process.env.REGISTRY_TEST_S3_BUCKET ?? '?'}`;
}

/**
 * s3 driver parameters for the test server, rooted at a fresh, unique `rootdirectory`
 * (`/<REGISTRY_TEST_S3_ROOTDIRECTORY>/<prefix>-<time>-<random>`), so that tests never see each
 * other's objects. `overrides` replace or add parameters. Undefined when `s3SkipReason()` is set.
 */
export function s3TestParameters(prefix: string, overrides: Record<string, unknown> = {}): Record<string, unknown> | undefined {
  if (s3SkipReason()) return undefined;
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith(PREFIX) && value !== undefined && value !== '') params[name.slice(PREFIX.length).toLowerCase()] = value;
  }
  const base = String(params.rootdirectory ?? '').replace(/^\/+|\/+$/g, '');
  const unique = `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  params.rootdirectory = `/${base ? `${base}/` : ''}${unique}`;
  return { ...params, ...overrides };
}

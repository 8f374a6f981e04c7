import { constants as bufferConstants } from 'node:buffer';
import { DriverParameterError, ParameterReader } from '@berth/storage-driver';
import { MIB, GIB, MIN_PART_SIZE, MAX_PART_SIZE } from './limits';

export const DRIVER_NAME = 's3';

/** Storage classes distribution accepts; `NONE` sends no `x-amz-storage-class` header at all. */
export const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'OUTPOSTS',
  'GLACIER_IR',
  'EXPRESS_ONEZONE',
  'NONE',
] as const;
export type StorageClassParameter = (typeof STORAGE_CLASSES)[number];

/** S3's canned object ACLs (the values distribution validates `objectacl` against). */
export const OBJECT_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
] as const;
export type ObjectAclParameter = (typeof OBJECT_ACLS)[number];

/** distribution's `loglevel` values; YAML `off` arrives as boolean false and means `off`. */
export const LOG_LEVELS = [
  'off',
  'debug',
  'debugwithsigning',
  'debugwithhttpbody',
  'debugwithrequestretries',
  'debugwithrequesterrors',
  'debugwitheventstreambody',
] as const;
export type LogLevelParameter = (typeof LOG_LEVELS)[number];

/** Every key the driver accepts; anything else is rejected (a typo must not pass silently). */
export const PARAMETER_KEYS = [
  'accesskey',
  'secretkey',
  'region',
  'regionendpoint',
  'forcepathstyle',
  'bucket',
  'encrypt',
  'keyid',
  'secure',
  'skipverify',
  'v4auth',
  'chunksize',
  'multipartcopychunksize',
  'multipartcopymaxconcurrency',
  'multipartcopythresholdsize',
  'rootdirectory',
  'storageclass',
  'objectacl',
  'useragent',
  'usedualstack',
  'accelerate',
  'usefipsendpoint',
  'loglevel',
  'redirectendpoint',
  'maxretries',
  'connecttimeout',
  'idletimeout',
] as const;

/**
 * The defaults of distribution's s3-aws driver *code* (`registry/storage/driver/s3-aws/s3.go`),
 * which differ from its docs for `v4auth` and `chunksize`.
 */
export const DEFAULTS = {
  region: 'us-east-1', // only when regionendpoint is set; otherwise region is required
  forcePathStyle: false,
  encrypt: false,
  secure: true,
  skipVerify: false,
  v4Auth: true,
  chunkSize: 2 * MIN_PART_SIZE, // 10 MiB
  multipartCopyChunkSize: 32 * MIB,
  multipartCopyMaxConcurrency: 100,
  multipartCopyThresholdSize: 32 * MIB,
  rootDirectory: '',
  storageClass: 'STANDARD' as StorageClassParameter,
  objectAcl: 'private' as ObjectAclParameter,
  useDualStack: false,
  accelerate: false,
  useFipsEndpoint: false,
  logLevel: 'off' as LogLevelParameter,
  /** Berth's own keys (distribution's s3 driver has no equivalents): retries after the first attempt, timeouts in ms. */
  maxRetries: 3,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 20_000,
} as const;

/** The driver's parsed, validated parameters. */
export interface S3Parameters {
  /** Static credentials; undefined → the SDK's default provider chain (env, profile, IAM role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly region: string;
  /** A full URL (scheme added from `secure` when the parameter had none), or undefined for AWS. */
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  readonly bucket: string;
  readonly encrypt: boolean;
  readonly keyId?: string;
  readonly secure: boolean;
  readonly skipVerify: boolean;
  /** false: requests and presigned URLs are signed with AWS Signature Version 2 (sigv2.ts). */
  readonly v4Auth: boolean;
  readonly chunkSize: number;
  readonly multipartCopyChunkSize: number;
  readonly multipartCopyMaxConcurrency: number;
  readonly multipartCopyThresholdSize: number;
  /** The key prefix without leading or trailing slashes ('' for the bucket's root). */
  readonly rootDirectory: string;
  readonly storageClass: StorageClassParameter;
  readonly objectAcl: ObjectAclParameter;
  readonly userAgent?: string;
  readonly useDualStack: boolean;
  readonly accelerate: boolean;
  readonly useFipsEndpoint: boolean;
  readonly logLevel: LogLevelParameter;
  /** A separate public endpoint (scheme and host only) for presigned redirect URLs. */
  readonly redirectEndpoint?: string;
  /** Retries of a request that failed with a throttling, 5xx, timeout or connection error (SDK adaptive mode). */
  readonly maxRetries: number;
  /** How long a new connection may take to be established. */
  readonly connectTimeoutMs: number;
  /** How long a connection may stay silent while a request waits for an answer or a body (read or write). */
  readonly idleTimeoutMs: number;
}

/** The largest part buffer this Node can allocate (4 GiB on Node 20), capping `chunksize`. */
const MAX_CHUNK_SIZE = Math.min(MAX_PART_SIZE, bufferConstants.MAX_LENGTH);

function withScheme(endpoint: string, secure: boolean): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `${secure ? 'https' : 'http'}://${endpoint}`;
}

function checkUrl(key: string, value: string, originOnly: boolean): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DriverParameterError(DRIVER_NAME, key, `must be a URL or host[:port], got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DriverParameterError(DRIVER_NAME, key, `must use http or https, got ${JSON.stringify(value)}`);
  }
  if (originOnly && ((url.pathname !== '/' && url.pathname !== '') || url.search !== '')) {
    throw new DriverParameterError(DRIVER_NAME, key, `must be a scheme and host only, got ${JSON.stringify(value)}`);
  }
}

/**
 * Parses `storage.s3` parameters (YAML values or `REGISTRY_STORAGE_S3_*` strings) with
 * distribution's code defaults. Throws `DriverParameterError` naming the key for an unknown key,
 * a missing `bucket`, a missing `region` without `regionendpoint`, a number out of range, or a
 * value that is not one of the allowed ones. Pure: connects nowhere.
 */
export function parseS3Parameters(parameters: Record<string, unknown>): S3Parameters {
  const read = new ParameterReader(DRIVER_NAME, parameters);
  read.rejectUnknown(PARAMETER_KEYS);

  const accessKey = read.string('accesskey');
  const secretKey = read.string('secretkey');
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    const missing = accessKey === undefined ? 'accesskey' : 'secretkey';
    throw new DriverParameterError(DRIVER_NAME, missing, 'must be set together with accesskey/secretkey (or leave both unset for the default credential chain)');
  }

  const secure = read.boolean('secure', DEFAULTS.secure);
  const regionEndpoint = read.string('regionendpoint');
  const endpoint = regionEndpoint === undefined ? undefined : withScheme(regionEndpoint, secure);
  if (endpoint !== undefined) checkUrl('regionendpoint', endpoint, false);

  let region = read.string('region');
  if (region === undefined) {
    if (endpoint === undefined) throw new DriverParameterError(DRIVER_NAME, 'region', 'is required unless regionendpoint is set');
    region = DEFAULTS.region;
  } else if (endpoint === undefined && !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(region)) {
    throw new DriverParameterError(DRIVER_NAME, 'region', `invalid region provided: ${JSON.stringify(region)}`);
  }

  const redirectEndpoint = read.string('redirectendpoint');
  if (redirectEndpoint !== undefined) checkUrl('redirectendpoint', redirectEndpoint, true);

  const rawLogLevel = parameters['loglevel'];
  const logLevel =
    rawLogLevel === false || (typeof rawLogLevel === 'string' && rawLogLevel.toLowerCase() === 'false')
      ? 'off'
      : read.oneOf('loglevel', LOG_LEVELS, DEFAULTS.logLevel);

  const encrypt = read.boolean('encrypt', DEFAULTS.encrypt);
  const keyId = read.string('keyid');

  return {
    credentials: accessKey !== undefined && secretKey !== undefined ? { accessKeyId: accessKey, secretAccessKey: secretKey } : undefined,
    region,
    endpoint,
    forcePathStyle: read.boolean('forcepathstyle', DEFAULTS.forcePathStyle),
    bucket: read.requiredString('bucket'),
    encrypt,
    keyId: encrypt ? keyId : undefined,
    secure,
    skipVerify: read.boolean('skipverify', DEFAULTS.skipVerify),
    v4Auth: read.boolean('v4auth', DEFAULTS.v4Auth),
    chunkSize: read.integer('chunksize', DEFAULTS.chunkSize, { min: MIN_PART_SIZE, max: MAX_CHUNK_SIZE }),
    multipartCopyChunkSize: read.integer('multipartcopychunksize', DEFAULTS.multipartCopyChunkSize, { min: MIN_PART_SIZE, max: MAX_PART_SIZE }),
    multipartCopyMaxConcurrency: read.integer('multipartcopymaxconcurrency', DEFAULTS.multipartCopyMaxConcurrency, { min: 1 }),
    multipartCopyThresholdSize: read.integer('multipartcopythresholdsize', DEFAULTS.multipartCopyThresholdSize, { min: 0, max: 5 * GIB }),
    rootDirectory: read.string('rootdirectory', DEFAULTS.rootDirectory).replace(/^\/+|\/+$/g, ''),
    storageClass: read.oneOf('storageclass', STORAGE_CLASSES, DEFAULTS.storageClass),
    objectAcl: read.oneOf('objectacl', OBJECT_ACLS, DEFAULTS.objectAcl),
    userAgent: read.string('useragent'),
    useDualStack: read.boolean('usedualstack', DEFAULTS.useDualStack),
    accelerate: read.boolean('accelerate', DEFAULTS.accelerate),
    useFipsEndpoint: read.boolean('usefipsendpoint', DEFAULTS.useFipsEndpoint),
    logLevel,
    redirectEndpoint,
    maxRetries: read.integer('maxretries', DEFAULTS.maxRetries, { min: 0, max: 20 }),
    connectTimeoutMs: read.durationMs('connecttimeout', DEFAULTS.connectTimeoutMs, { minMs: 1, maxMs: 3_600_000 }),
    idleTimeoutMs: read.durationMs('idletimeout', DEFAULTS.idleTimeoutMs, { minMs: 1, maxMs: 24 * 3_600_000 }),
  };
}

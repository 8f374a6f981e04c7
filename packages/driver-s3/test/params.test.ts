import { DriverParameterError } from '@berth/storage-driver';
import { S3_DEFAULTS, S3_PARAMETER_KEYS, parseS3Parameters, s3DriverFactory } from '@berth/driver-s3';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** Asserts that parsing throws a DriverParameterError naming `key`. */
function expectRejected(parameters: Record<string, unknown>, key: string): DriverParameterError {
  let caught: unknown;
  try {
    parseS3Parameters(parameters);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DriverParameterError);
  const error = caught as DriverParameterError;
  expect(error.key).toBe(key);
  expect(error.driver).toBe('s3');
  expect(error.message).toContain(`storage.s3.${key}`);
  return error;
}

describe('s3 driver parameters', () => {
  it("applies distribution's code defaults (v4auth true, chunksize 10 MiB, copy 32 MiB/100/32 MiB, STANDARD, private, loglevel off)", () => {
    const params = parseS3Parameters({ region: 'eu-west-1', bucket: 'registry' });
    expect(params).toEqual({
      credentials: undefined,
      region: 'eu-west-1',
      endpoint: undefined,
      forcePathStyle: false,
      bucket: 'registry',
      encrypt: false,
      keyId: undefined,
      secure: true,
      skipVerify: false,
      v4Auth: true,
      chunkSize: 10 * MIB,
      multipartCopyChunkSize: 32 * MIB,
      multipartCopyMaxConcurrency: 100,
      multipartCopyThresholdSize: 32 * MIB,
      rootDirectory: '',
      storageClass: 'STANDARD',
      objectAcl: 'private',
      userAgent: undefined,
      useDualStack: false,
      accelerate: false,
      useFipsEndpoint: false,
      logLevel: 'off',
      redirectEndpoint: undefined,
      maxRetries: 3,
      connectTimeoutMs: 10_000,
      idleTimeoutMs: 20_000,
    });
    expect(S3_DEFAULTS.chunkSize).toBe(10 * MIB);
  });

  it('reads maxretries as an integer and connecttimeout/idletimeout as Go durations (strings from REGISTRY_STORAGE_S3_*, or nanoseconds)', () => {
    expect(parseS3Parameters({ bucket: 'b', region: 'r', maxretries: '0', connecttimeout: '2.5s', idletimeout: '1m30s' })).toMatchObject({
      maxRetries: 0,
      connectTimeoutMs: 2500,
      idleTimeoutMs: 90_000,
    });
    expect(parseS3Parameters({ bucket: 'b', region: 'r', maxretries: 5, connecttimeout: 250_000_000 })).toMatchObject({ maxRetries: 5, connectTimeoutMs: 250 });
  });

  it('rejects malformed or out-of-range maxretries, connecttimeout and idletimeout at start-up, naming the key', () => {
    const base = { bucket: 'b', region: 'r' };
    expectRejected({ ...base, maxretries: '-1' }, 'maxretries');
    expectRejected({ ...base, maxretries: 'many' }, 'maxretries');
    expectRejected({ ...base, maxretries: 21 }, 'maxretries');
    expectRejected({ ...base, connecttimeout: '10' }, 'connecttimeout');
    expectRejected({ ...base, connecttimeout: '0s' }, 'connecttimeout');
    expectRejected({ ...base, idletimeout: 'soon' }, 'idletimeout');
    expectRejected({ ...base, idletimeout: '-5s' }, 'idletimeout');
    expect(() => s3DriverFactory.validate({ ...base, idletimeout: 'soon' })).toThrow(/storage\.s3\.idletimeout/);
  });

  it('accepts every value as a string, as REGISTRY_STORAGE_S3_* variables deliver them', () => {
    const params = parseS3Parameters({
      accesskey: 'AKIA',
      secretkey: 'secret',
      region: 'us-west-2',
      regionendpoint: 'http://127.0.0.1:7480',
      forcepathstyle: 'true',
      bucket: 'b',
      encrypt: 'TRUE',
      keyid: 'kms-key',
      secure: 'false',
      skipverify: 'true',
      v4auth: 'true',
      chunksize: '5242880',
      multipartcopychunksize: '6291456',
      multipartcopymaxconcurrency: '7',
      multipartcopythresholdsize: '0',
      rootdirectory: '/registry/root/',
      storageclass: 'reduced_redundancy',
      objectacl: 'bucket-owner-full-control',
      useragent: 'berth-test',
      usedualstack: 'false',
      accelerate: 'false',
      usefipsendpoint: 'false',
      loglevel: 'debug',
    });
    expect(params).toMatchObject({
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'secret' },
      region: 'us-west-2',
      endpoint: 'http://127.0.0.1:7480',
      forcePathStyle: true,
      encrypt: true,
      keyId: 'kms-key',
      secure: false,
      skipVerify: true,
      chunkSize: 5 * MIB,
      multipartCopyChunkSize: 6 * MIB,
      multipartCopyMaxConcurrency: 7,
      multipartCopyThresholdSize: 0,
      rootDirectory: 'registry/root',
      storageClass: 'REDUCED_REDUNDANCY',
      objectAcl: 'bucket-owner-full-control',
      userAgent: 'berth-test',
      logLevel: 'debug',
    });
  });

  it('defaults region to us-east-1 when only regionendpoint is set, and adds the scheme `secure` implies', () => {
    expect(parseS3Parameters({ regionendpoint: 'minio:9000', bucket: 'b' })).toMatchObject({ region: 'us-east-1', endpoint: 'https://minio:9000' });
    expect(parseS3Parameters({ regionendpoint: 'minio:9000', bucket: 'b', secure: false })).toMatchObject({ endpoint: 'http://minio:9000' });
    expect(parseS3Parameters({ regionendpoint: 'http://minio:9000', bucket: 'b', secure: true }).endpoint).toBe('http://minio:9000');
  });

  it('requires bucket, and region unless regionendpoint is set', () => {
    expectRejected({ region: 'us-east-1' }, 'bucket');
    expectRejected({ bucket: 'b' }, 'region');
    expectRejected({ region: 'Not A Region', bucket: 'b' }, 'region');
  });

  it('rejects an unknown parameter by name (a typo must not pass silently)', () => {
    const error = expectRejected({ region: 'us-east-1', bucket: 'b', chunksise: 1 }, 'chunksise');
    expect(error.message).toContain('unknown parameter');
    expect(S3_PARAMETER_KEYS).toContain('multipartcopythresholdsize');
  });

  it('rejects sizes outside the S3 limits, naming the key', () => {
    const base = { region: 'us-east-1', bucket: 'b' };
    expectRejected({ ...base, chunksize: 5 * MIB - 1 }, 'chunksize');
    expectRejected({ ...base, chunksize: 'ten' }, 'chunksize');
    expectRejected({ ...base, multipartcopychunksize: 5 * GIB + 1 }, 'multipartcopychunksize');
    expectRejected({ ...base, multipartcopychunksize: 1024 }, 'multipartcopychunksize');
    expectRejected({ ...base, multipartcopymaxconcurrency: 0 }, 'multipartcopymaxconcurrency');
    expectRejected({ ...base, multipartcopythresholdsize: -1 }, 'multipartcopythresholdsize');
    expectRejected({ ...base, multipartcopythresholdsize: 5 * GIB + 1 }, 'multipartcopythresholdsize');
    expect(parseS3Parameters({ ...base, multipartcopythresholdsize: 5 * GIB }).multipartCopyThresholdSize).toBe(5 * GIB);
  });

  it('rejects malformed booleans, storage classes, ACLs, log levels and endpoints, naming the key', () => {
    const base = { region: 'us-east-1', bucket: 'b' };
    expectRejected({ ...base, secure: 'yes' }, 'secure');
    expectRejected({ ...base, forcepathstyle: 1 }, 'forcepathstyle');
    expectRejected({ ...base, storageclass: 'GLACIER_DEEP' }, 'storageclass');
    expectRejected({ ...base, objectacl: 'everyone' }, 'objectacl');
    expectRejected({ ...base, loglevel: 'verbose' }, 'loglevel');
    expectRejected({ ...base, regionendpoint: 'ftp://host' }, 'regionendpoint');
    expectRejected({ ...base, redirectendpoint: 'https://cdn.example.com/path' }, 'redirectendpoint');
  });

  it('requires accesskey and secretkey together, and uses the default credential chain without both', () => {
    expectRejected({ region: 'us-east-1', bucket: 'b', accesskey: 'AKIA' }, 'secretkey');
    expectRejected({ region: 'us-east-1', bucket: 'b', secretkey: 'secret' }, 'accesskey');
    expect(parseS3Parameters({ region: 'us-east-1', bucket: 'b', accesskey: '', secretkey: '' }).credentials).toBeUndefined();
  });

  it('reads YAML `loglevel: off` (boolean false) as off, and accepts every distribution log level', () => {
    expect(parseS3Parameters({ region: 'us-east-1', bucket: 'b', loglevel: false }).logLevel).toBe('off');
    for (const level of ['off', 'debug', 'debugwithsigning', 'debugwithhttpbody', 'debugwithrequestretries', 'debugwithrequesterrors', 'debugwitheventstreambody']) {
      expect(parseS3Parameters({ region: 'us-east-1', bucket: 'b', loglevel: level }).logLevel).toBe(level);
    }
  });

  it('accepts storageclass NONE and every class distribution lists', () => {
    for (const storageclass of ['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'OUTPOSTS', 'GLACIER_IR', 'EXPRESS_ONEZONE', 'NONE']) {
      expect(parseS3Parameters({ region: 'us-east-1', bucket: 'b', storageclass }).storageClass).toBe(storageclass);
    }
  });

  it('drops keyid unless encrypt is set, and treats rootdirectory "/" as the bucket root', () => {
    expect(parseS3Parameters({ region: 'us-east-1', bucket: 'b', keyid: 'k' }).keyId).toBeUndefined();
    expect(parseS3Parameters({ region: 'us-east-1', bucket: 'b', rootdirectory: '/' }).rootDirectory).toBe('');
  });

  it('is the factory named s3, marking secretkey secret, validating without connecting', () => {
    expect(s3DriverFactory.name).toBe('s3');
    expect(s3DriverFactory.secretParameters).toEqual(['secretkey']);
    expect(() => s3DriverFactory.validate({ region: 'us-east-1' })).toThrow(DriverParameterError);
    expect(() => s3DriverFactory.validate({ region: 'us-east-1', bucket: 'b' })).not.toThrow();
  });
});

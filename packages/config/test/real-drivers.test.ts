import { loadConfig, redactConfig, REDACTED } from '@berth/config';
import { configError } from './helpers';
import { realDrivers } from './real-drivers';

/** The loader with the factories the `berth` command registers (no driver is created). */
const drivers = realDrivers();
const load = (yamlText: string, env: NodeJS.ProcessEnv = {}) => loadConfig({ yamlText, env, drivers });

const FILE = `version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
`;

describe('with the real inmemory, filesystem and s3 factories', () => {
  it('REGISTRY_STORAGE=s3 with bucket, regionendpoint and forcepathstyle "true" from the environment', () => {
    const c = load(FILE, {
      REGISTRY_STORAGE: 's3',
      REGISTRY_STORAGE_S3_BUCKET: 'registry',
      REGISTRY_STORAGE_S3_REGIONENDPOINT: 'http://127.0.0.1:9000',
      REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
      REGISTRY_STORAGE_S3_ACCESSKEY: 'minioadmin',
      REGISTRY_STORAGE_S3_SECRETKEY: 'minio-secret-value',
    });
    expect(c.storage.driver).toBe('s3');
    expect(c.storage.parameters).toEqual({
      bucket: 'registry',
      regionendpoint: 'http://127.0.0.1:9000',
      forcepathstyle: true,
      accesskey: 'minioadmin',
      secretkey: 'minio-secret-value',
    });
    expect(c.storage.delete.enabled).toBe(false); // dropped with the rest of the file's storage section
    const redacted = redactConfig(c, drivers) as typeof c;
    expect(redacted.storage.parameters.secretkey).toBe(REDACTED);
    expect(JSON.stringify(redacted)).not.toContain('minio-secret-value');
  });

  it('a missing bucket is reported by the s3 factory as storage.s3.bucket', () => {
    expect(configError(() => load(FILE, { REGISTRY_STORAGE: 's3', REGISTRY_STORAGE_S3_REGION: 'us-east-1' }), 'storage.s3.bucket')).toMatch(/required/);
  });

  it('REGISTRY_STORAGE_S3_BUCKET next to the file\'s filesystem section is two drivers', () => {
    expect(configError(() => load(FILE, { REGISTRY_STORAGE_S3_BUCKET: 'b' }), 'storage')).toMatch(/filesystem and s3/);
  });

  it('filesystem and inmemory parameters are checked by their factories', () => {
    expect(load(FILE, { REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS: '50' }).storage.parameters).toEqual({ rootdirectory: '/var/lib/registry', maxthreads: 50 });
    expect(configError(() => load(FILE, { REGISTRY_STORAGE_FILESYSTEM_ROOTDIR: '/x' }), 'storage.filesystem.rootdir')).toMatch(/unknown/);
    expect(configError(() => load('version: 0.1\nstorage:\n  inmemory:\n    size: 1\n'), 'storage.inmemory.size')).toMatch(/unknown/);
  });

  it('an unknown driver lists the registered ones', () => {
    expect(configError(() => load('version: 0.1\nstorage:\n  azure:\n    accountname: a\n'), 'storage.azure')).toBe(
      'storage.azure: unknown storage driver "azure" (known: filesystem, inmemory, s3)',
    );
  });
});

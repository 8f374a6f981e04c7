import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseS3Parameters } from '@berth/driver-s3';
import {
  REPO_ROOT,
  ignoredWarnings,
  interpolate,
  loadAsImage,
  parseCompose,
  readCompose,
  registryVariables,
  serviceEnvironment,
  serviceMounts,
  type ComposeFile,
} from './compose-support';

/**
 * The Compose files at the repository root: docker-compose.yml (Berth on MinIO, configured with
 * REGISTRY_STORAGE=s3 and REGISTRY_STORAGE_S3_* only) and docker-compose.tls.yml (filesystem storage
 * with TLS and htpasswd). Each service's REGISTRY_* variables go through the real loader on top of
 * the image's config.yml, so a misspelt variable fails here instead of being ignored in a container.
 */

const FILES = ['docker-compose.yml', 'docker-compose.tls.yml'];

/** `docker compose config` checks a file against the Compose specification, where a Docker CLI has the plugin. */
const composeVersion = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 20_000 });
const composeSkipReason =
  composeVersion.error !== undefined
    ? `the docker command is not installed (${composeVersion.error.message})`
    : composeVersion.status !== 0
      ? `\`docker compose version\` failed: ${(composeVersion.stderr || composeVersion.stdout).trim().split('\n')[0]}`
      : undefined;
if (composeSkipReason) console.warn(`SKIPPED docker compose config of ${FILES.join(', ')}: ${composeSkipReason}`);

describe.each(FILES)('%s', (file) => {
  const compose = readCompose(file);

  it('has a berth service built from this repository, publishing the image port 5000', () => {
    const berth = compose.services.berth;
    expect(berth).toBeDefined();
    expect(berth?.build).toBe('.');
    expect((berth?.ports as string[]).some((p) => String(p).endsWith(':5000'))).toBe(true);
  });

  it("loads every service's REGISTRY_* variables over the image's config.yml without an ignored variable or key", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const env = serviceEnvironment(service);
      if (Object.keys(registryVariables(env)).length === 0) continue;
      const config = loadAsImage(env);
      expect({ service: name, ignored: ignoredWarnings(config) }).toEqual({ service: name, ignored: [] });
    }
  });

  (composeSkipReason ? it.skip : it)('passes `docker compose config`', () => {
    const result = spawnSync('docker', ['compose', '-f', file, 'config', '--quiet'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });
});

describe('docker-compose.yml: Berth on MinIO', () => {
  const compose = readCompose('docker-compose.yml');
  const { minio, berth } = compose.services as Record<string, Record<string, unknown>>;
  const bucketJob = compose.services['create-bucket'];
  const env = serviceEnvironment(berth ?? {});
  const minioEnv = serviceEnvironment(minio ?? {});

  it('runs MinIO with a health check and a volume for its data', () => {
    expect(minio?.image).toMatch(/^minio\/minio(:|$)/);
    expect(minio?.healthcheck).toBeDefined();
    expect(serviceMounts(minio ?? {}).map((m) => m.target)).toContain('/data');
  });

  it('creates the bucket Berth uses in a one-shot job once MinIO is healthy, with its root credentials', () => {
    expect(bucketJob?.image).toMatch(/^minio\/mc(:|$)/);
    expect(bucketJob?.depends_on).toEqual({ minio: { condition: 'service_healthy' } });
    expect(bucketJob?.restart).toBe('no');
    const script = String(bucketJob?.entrypoint);
    expect(script).toContain(`mc alias set local http://minio:9000 ${minioEnv.MINIO_ROOT_USER} ${minioEnv.MINIO_ROOT_PASSWORD}`);
    expect(script).toContain(`mc mb --ignore-existing local/${env.REGISTRY_STORAGE_S3_BUCKET}`);
  });

  it('starts Berth only after the bucket job succeeded', () => {
    expect(berth?.depends_on).toEqual({ 'create-bucket': { condition: 'service_completed_successfully' } });
  });

  it('chooses the s3 driver with REGISTRY_STORAGE=s3 and sets MinIO through REGISTRY_STORAGE_S3_* variables', () => {
    expect(env).toMatchObject({
      REGISTRY_STORAGE: 's3',
      REGISTRY_STORAGE_S3_REGIONENDPOINT: 'http://minio:9000',
      REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
      REGISTRY_STORAGE_S3_SECURE: 'false',
      REGISTRY_STORAGE_S3_ACCESSKEY: minioEnv.MINIO_ROOT_USER,
      REGISTRY_STORAGE_S3_SECRETKEY: minioEnv.MINIO_ROOT_PASSWORD,
    });
    const config = loadAsImage(env);
    // REGISTRY_STORAGE=s3 replaced the image's filesystem section entirely.
    expect(config.storage.driver).toBe('s3');
    const s3 = parseS3Parameters(config.storage.parameters);
    expect(s3).toMatchObject({
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      secure: false,
      bucket: env.REGISTRY_STORAGE_S3_BUCKET,
      credentials: { accessKeyId: minioEnv.MINIO_ROOT_USER, secretAccessKey: minioEnv.MINIO_ROOT_PASSWORD },
    });
  });

  it('streams blobs through Berth (MinIO is not reachable by clients), allows deletes and sets a shared http.secret', () => {
    const config = loadAsImage(env);
    expect(config.storage.redirect.disable).toBe(true);
    expect(config.storage.delete.enabled).toBe(true);
    expect(config.http.secret).toBe(env.REGISTRY_HTTP_SECRET);
    expect(config.warnings).toEqual([]);
  });
});

describe("docker-compose.yml: the replicas profile (docs/scale-out.md)", () => {
  const compose = readCompose('docker-compose.yml');
  const services = compose.services as Record<string, Record<string, unknown>>;
  const REPLICAS = ['berth-1', 'berth-2'];
  const nginxConf = readFileSync(resolve(REPO_ROOT, 'deploy/compose/nginx.conf'), 'utf8');
  const directives = (name: string): string[] =>
    [...nginxConf.matchAll(new RegExp(`^\\s*${name}\\s+([^;{}\\n]*);`, 'gm'))].map((m) => (m[1] as string).trim());

  it('puts Redis, the replicas and nginx in the profile, and leaves the single berth service out of it', () => {
    for (const name of ['redis', ...REPLICAS, 'lb']) expect({ name, profiles: services[name]?.profiles }).toEqual({ name, profiles: ['replicas'] });
    expect(services.berth?.profiles).toBeUndefined();
    expect(services.redis?.image).toMatch(/^redis:/);
    expect(services.redis?.healthcheck).toBeDefined();
  });

  it('runs every replica from this repository on the bucket, secret and endpoint of the single service, with Redis as the shared cache', () => {
    const single = loadAsImage(serviceEnvironment(services.berth ?? {}));
    for (const name of REPLICAS) {
      const replica = services[name] ?? {};
      expect(replica.build).toBe('.');
      expect(replica.ports).toBeUndefined();
      expect(replica.depends_on).toEqual({
        'create-bucket': { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
      });
      const env = serviceEnvironment(replica);
      const config = loadAsImage(env);
      expect({ name, ignored: ignoredWarnings(config) }).toEqual({ name, ignored: [] });
      expect(config.storage.driver).toBe('s3');
      expect(parseS3Parameters(config.storage.parameters)).toEqual(parseS3Parameters(single.storage.parameters));
      expect(config.storage.delete.enabled).toBe(true);
      expect(config.storage.cache.blobdescriptor).toBe('redis');
      expect(String((config.redis as Record<string, unknown>).addr)).toBe('redis:6379');
      expect(config.http.secret).toBe(env.REGISTRY_HTTP_SECRET);
      expect(config.http.debug?.addr).toBe(':5001');
    }
    // One secret for all of them, taken from the environment when set.
    const secrets = REPLICAS.map((name) => serviceEnvironment(services[name] ?? {}, { REGISTRY_HTTP_SECRET: 'from-the-host' }).REGISTRY_HTTP_SECRET);
    expect(secrets).toEqual(REPLICAS.map(() => 'from-the-host'));
  });

  it('publishes nginx, which mounts deploy/compose/nginx.conf and waits for healthy replicas', () => {
    const lb = services.lb ?? {};
    expect(lb.image).toMatch(/^nginx(:|$)/);
    expect(serviceMounts(lb)).toEqual([{ source: './deploy/compose/nginx.conf', target: '/etc/nginx/conf.d/default.conf', mode: 'ro' }]);
    const published = (lb.ports as string[]).map((p) => String(p).split(':').pop());
    expect(directives('listen')).toEqual(published);
    expect(lb.depends_on).toEqual(Object.fromEntries(REPLICAS.map((name) => [name, { condition: 'service_healthy' }])));
  });

  it("balances over every replica's registry port with the settings a registry needs", () => {
    const replicaPorts = REPLICAS.map((name) => loadAsImage(serviceEnvironment(services[name] ?? {})).http.addr.split(':').pop());
    expect(directives('server').map((s) => s.split(/\s+/)[0])).toEqual(REPLICAS.map((name, i) => `${name}:${replicaPorts[i]}`));
    expect(directives('client_max_body_size')).toEqual(['0']);
    expect(directives('proxy_request_buffering')).toEqual(['off']);
    expect(directives('proxy_buffering')).toEqual(['off']);
    expect(directives('proxy_http_version')).toEqual(['1.1']);
    expect(directives('proxy_pass')).toEqual(['http://berth']);
    expect(directives('proxy_set_header')).toEqual(expect.arrayContaining(['Host $http_host', 'X-Forwarded-Proto $scheme']));
    for (const timeout of [...directives('proxy_read_timeout'), ...directives('proxy_send_timeout')]) expect(parseInt(timeout, 10)).toBeGreaterThanOrEqual(600);
    expect(directives('proxy_read_timeout')).toHaveLength(1);
  });
});

describe('docker-compose.tls.yml: filesystem storage with TLS and htpasswd', () => {
  const compose = readCompose('docker-compose.tls.yml');
  const berth = compose.services.berth ?? {};
  const env = serviceEnvironment(berth);
  const mounts = serviceMounts(berth);

  it('is a project of its own, so it runs beside docker-compose.yml', () => {
    expect(compose.raw.name).toBe('berth-tls');
  });

  it('mounts ./certs and ./auth read-only, and a named volume at /var/lib/registry', () => {
    expect(mounts).toEqual(
      expect.arrayContaining([
        { source: './certs', target: '/certs', mode: 'ro' },
        { source: './auth', target: '/auth', mode: 'ro' },
        { source: 'berth-data', target: '/var/lib/registry', mode: undefined },
      ]),
    );
    expect(Object.keys(compose.volumes)).toContain('berth-data');
  });

  it('turns on TLS and htpasswd with REGISTRY_HTTP_TLS_* and REGISTRY_AUTH=htpasswd, on the files the setup script writes', () => {
    expect(env).toMatchObject({
      REGISTRY_HTTP_TLS_CERTIFICATE: '/certs/registry.crt',
      REGISTRY_HTTP_TLS_KEY: '/certs/registry.key',
      REGISTRY_AUTH: 'htpasswd',
      REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd',
    });
    const config = loadAsImage(env);
    expect(config.storage.driver).toBe('filesystem');
    expect(config.storage.parameters).toEqual({ rootdirectory: '/var/lib/registry' });
    expect(config.http.tls).toMatchObject({ certificate: '/certs/registry.crt', key: '/certs/registry.key' });
    expect(config.auth).toMatchObject({ type: 'htpasswd', realm: env.REGISTRY_AUTH_HTPASSWD_REALM, path: '/auth/htpasswd', anonymouspull: false });
    // A single replica: the generated per-process secret is all it needs.
    expect(config.warnings.filter((w) => !w.startsWith('http.secret is not set'))).toEqual([]);
  });

  it('points the image HEALTHCHECK at https://localhost with the CA trusted', () => {
    expect(env.BERTH_HEALTHCHECK_URL).toBe('https://localhost:5000/v2/');
    expect(env.NODE_EXTRA_CA_CERTS).toBe('/certs/ca.crt');
  });
});

describe('the Compose reading used by these tests', () => {
  it("interpolates Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR and $$ forms", () => {
    expect(interpolate('a${X}b$Y-$$Z', { X: '1', Y: '2' })).toBe('a1b2-$Z');
    expect(interpolate('${X:-d} ${X-d} ${U-d}', { X: '' })).toBe('d  d');
    expect(() => interpolate('${X:?set X}', {})).toThrow('required variable X is missing: set X');
  });

  it('reads the list form of environment and leaves out names without a value', () => {
    const file: ComposeFile = parseCompose('services:\n  s:\n    environment:\n      - REGISTRY_LOG_LEVEL=debug\n      - FROM_HOST\n');
    expect(serviceEnvironment(file.services.s ?? {})).toEqual({ REGISTRY_LOG_LEVEL: 'debug' });
  });

  it('fails the environment check on a misspelt variable', () => {
    const file = parseCompose('services:\n  berth:\n    environment:\n      REGISTRY_HTTP_ADRR: ":5000"\n');
    expect(ignoredWarnings(loadAsImage(serviceEnvironment(file.services.berth ?? {})))).toEqual([
      expect.stringContaining('REGISTRY_HTTP_ADRR'),
    ]);
  });
});

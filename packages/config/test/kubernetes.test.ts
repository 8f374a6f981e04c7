import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig, type BerthConfig } from '@berth/config';
import { REPO_ROOT, ignoredWarnings, isRecord } from './compose-support';
import { realDrivers } from './real-drivers';

/**
 * deploy/kubernetes/: the kustomize manifests docs/scale-out.md points at. The files are parsed here
 * and the keys that make or break a scaled-out registry are checked against each other (the config
 * through Berth's real loader with the Secret's variables); where `kubectl` is installed,
 * `kubectl kustomize` must also render them.
 */

const DIR = resolve(REPO_ROOT, 'deploy/kubernetes');
type Doc = Record<string, unknown>;

function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === 'number') current = current[key];
    else if (isRecord(current) && typeof key === 'string') current = current[key];
    else return undefined;
  }
  return current;
}

function parseDocs(text: string, source: string): Doc[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as unknown;
    if (!isRecord(value)) throw new Error(`${source}: every document must be a mapping`);
    return value;
  });
}

const kustomization = parseDocs(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'), 'kustomization.yaml')[0]!;
const resources = (kustomization.resources as string[]) ?? [];
const docs = resources.flatMap((file) => parseDocs(readFileSync(join(DIR, file), 'utf8'), file));

function find(kind: string, name: string): Doc {
  const doc = docs.find((d) => d.kind === kind && at(d, 'metadata', 'name') === name);
  if (!doc) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return doc;
}

const deployment = find('Deployment', 'berth');
const podSpec = at(deployment, 'spec', 'template', 'spec') as Doc;
const container = (podSpec.containers as Doc[]).find((c) => c.name === 'berth')!;
const containerPorts = new Map((container.ports as Doc[]).map((p) => [p.name as string, p.containerPort as number]));
const portNumber = (port: unknown): number => (typeof port === 'number' ? port : containerPorts.get(String(port)) ?? NaN);
const configMap = find('ConfigMap', 'berth-config');
const secret = find('Secret', 'berth-secrets');
const secretEnv = at(secret, 'stringData') as Record<string, string>;

/** The ConfigMap's config.yml through the real loader, with the Secret's REGISTRY_* variables, as a pod reads it. */
function loadPodConfig(): BerthConfig {
  const dir = mkdtempSync(join(tmpdir(), 'berth-k8s-config-'));
  try {
    const file = join(dir, 'config.yml');
    writeFileSync(file, String(at(configMap, 'data', 'config.yml')));
    return loadConfig({ file, env: secretEnv, drivers: realDrivers() });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const addrPort = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1));

describe('deploy/kubernetes', () => {
  it('lists every manifest of the directory in kustomization.yaml, and nothing else', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...resources].sort()).toEqual(files.sort());
  });

  it('runs Berth as a Deployment of at least two replicas, which the autoscaler and the disruption budget keep above one', () => {
    expect(deployment.apiVersion).toBe('apps/v1');
    expect(at(deployment, 'spec', 'replicas')).toBeGreaterThanOrEqual(2);
    const hpa = find('HorizontalPodAutoscaler', 'berth');
    expect(at(hpa, 'spec', 'scaleTargetRef')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'berth' });
    expect(at(hpa, 'spec', 'minReplicas')).toBeGreaterThanOrEqual(2);
    expect(at(hpa, 'spec', 'maxReplicas')).toBeGreaterThanOrEqual(at(hpa, 'spec', 'minReplicas') as number);
    // A CPU utilisation target needs a CPU request to be computed against.
    expect(at(container, 'resources', 'requests', 'cpu')).toBeDefined();
    const pdb = find('PodDisruptionBudget', 'berth');
    expect(at(pdb, 'spec', 'selector', 'matchLabels')).toEqual(at(deployment, 'spec', 'selector', 'matchLabels'));
    expect(at(pdb, 'spec', 'minAvailable')).toBeGreaterThanOrEqual(1);
    expect(at(pdb, 'spec', 'minAvailable')).toBeLessThan(at(hpa, 'spec', 'minReplicas') as number);
  });

  it("loads the ConfigMap's config.yml with the Secret's variables: S3, a pinned http.secret, deletes, no ignored key", () => {
    const config = loadPodConfig();
    expect(ignoredWarnings(config)).toEqual([]);
    expect(config.storage.driver).toBe('s3');
    expect(config.storage.delete.enabled).toBe(true);
    expect(config.http.secret).toBe(secretEnv.REGISTRY_HTTP_SECRET);
    expect(config.storage.parameters).toMatchObject({
      accesskey: secretEnv.REGISTRY_STORAGE_S3_ACCESSKEY,
      secretkey: secretEnv.REGISTRY_STORAGE_S3_SECRETKEY,
    });
  });

  it('mounts the ConfigMap where the image reads its config, and takes every Secret it names from the manifests', () => {
    const mount = (container.volumeMounts as Doc[]).find((m) => m.mountPath === '/etc/docker/registry/config.yml');
    expect(mount).toBeDefined();
    const volume = (podSpec.volumes as Doc[]).find((v) => v.name === mount!.name)!;
    expect(at(volume, 'configMap', 'name')).toBe('berth-config');
    expect(mount!.subPath).toBe('config.yml');

    const referenced = new Set<string>();
    for (const source of (container.envFrom as Doc[] | undefined) ?? []) if (at(source, 'secretRef', 'name')) referenced.add(String(at(source, 'secretRef', 'name')));
    for (const env of (container.env as Doc[] | undefined) ?? []) if (at(env, 'valueFrom', 'secretKeyRef', 'name')) referenced.add(String(at(env, 'valueFrom', 'secretKeyRef', 'name')));
    for (const volume of (podSpec.volumes as Doc[]) ?? []) if (at(volume, 'secret', 'secretName')) referenced.add(String(at(volume, 'secret', 'secretName')));
    expect([...referenced]).toContain('berth-secrets');
    for (const name of referenced) expect(() => find('Secret', name)).not.toThrow();
  });

  it("points the config's redis.addr at the Redis Service, which selects the Redis pods on their port", () => {
    const config = loadPodConfig();
    const addr = String(at(config.redis, 'addr') ?? at(config.redis, 'addrs', 0));
    const [host, port] = addr.split(':');
    const service = find('Service', host!);
    const servicePort = (at(service, 'spec', 'ports') as Doc[]).find((p) => p.port === Number(port));
    expect(servicePort).toBeDefined();
    const redis = docs.find(
      (d) => d.kind === 'Deployment' && JSON.stringify(at(d, 'spec', 'template', 'metadata', 'labels')) === JSON.stringify(at(service, 'spec', 'selector')),
    );
    expect(redis).toBeDefined();
    const redisContainer = (at(redis, 'spec', 'template', 'spec', 'containers') as Doc[])[0]!;
    const redisPorts = new Map((redisContainer.ports as Doc[]).map((p) => [p.name as string, p.containerPort as number]));
    const target = servicePort!.targetPort;
    expect(typeof target === 'number' ? target : redisPorts.get(String(target))).toBe(6379);
    expect(String(redisContainer.image)).toMatch(/^redis:/);
  });

  it('probes readiness on /debug/health of the debug address and liveness on the registry port', () => {
    const config = loadPodConfig();
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/debug/health');
    expect(portNumber(at(container, 'readinessProbe', 'httpGet', 'port'))).toBe(addrPort(String(config.http.debug?.addr)));
    const liveness = (at(container, 'livenessProbe', 'tcpSocket', 'port') ?? at(container, 'livenessProbe', 'httpGet', 'port')) as unknown;
    expect(portNumber(liveness)).toBe(addrPort(config.http.addr));
    // The storage check that readiness follows is on.
    expect(config.health.storagedriver.enabled).toBe(true);
  });

  it('serves the registry port through the Service, and the Ingress sends everything there unbuffered without a size limit', () => {
    const config = loadPodConfig();
    const service = find('Service', 'berth');
    expect(at(service, 'spec', 'selector')).toEqual(at(deployment, 'spec', 'template', 'metadata', 'labels'));
    const httpPort = (at(service, 'spec', 'ports') as Doc[]).find((p) => p.name === 'http')!;
    expect(portNumber(httpPort.targetPort)).toBe(addrPort(config.http.addr));

    const ingress = find('Ingress', 'berth');
    expect(at(ingress, 'metadata', 'annotations')).toMatchObject({
      'nginx.ingress.kubernetes.io/proxy-body-size': '0',
      'nginx.ingress.kubernetes.io/proxy-request-buffering': 'off',
      'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
    });
    expect(Number(at(ingress, 'metadata', 'annotations', 'nginx.ingress.kubernetes.io/proxy-read-timeout'))).toBeGreaterThanOrEqual(600);
    const backend = at(ingress, 'spec', 'rules', 0, 'http', 'paths', 0, 'backend', 'service') as Doc;
    expect(backend.name).toBe('berth');
    expect(at(backend, 'port', 'name')).toBe('http');
  });
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
const kubectlSkipReason = kubectl.error ? `kubectl is not installed (${kubectl.error.message})` : kubectl.status !== 0 ? 'kubectl version --client failed' : undefined;
if (kubectlSkipReason) console.warn(`SKIPPED kubectl kustomize deploy/kubernetes: ${kubectlSkipReason}`);

(kubectlSkipReason ? it.skip : it)('renders with kubectl kustomize into the same objects, labelled part-of berth', () => {
  const result = spawnSync('kubectl', ['kustomize', DIR], { encoding: 'utf8', timeout: 60_000 });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  const rendered = parseDocs(result.stdout, 'kubectl kustomize');
  const names = (list: Doc[]): string[] => list.map((d) => `${String(d.kind)}/${String(at(d, 'metadata', 'name'))}`).sort();
  expect(names(rendered)).toEqual(names(docs));
  for (const doc of rendered) expect(at(doc, 'metadata', 'labels', 'app.kubernetes.io/part-of')).toBe('berth');
  const image = at(rendered.find((d) => d.kind === 'Deployment' && at(d, 'metadata', 'name') === 'berth'), 'spec', 'template', 'spec', 'containers', 0, 'image');
  expect(image).toBe('registry.example.com/berth:latest');
});

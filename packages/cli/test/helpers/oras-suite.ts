import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { startBerth, testConfig, type RunningBerth } from './berth';
import { fetchTags } from './compare';
import { sha256Digest } from './oci-layout';
import { buildOrasClient, orasClient } from './oras-client';
import { cleanupAll, makeTempDir } from './processes';

/** Helm's media types (helm.sh/helm/v3/pkg/registry/constants.go). */
export const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';
export const HELM_CHART = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
export const HELM_PROV = 'application/vnd.cncf.helm.chart.provenance.v1.prov';

interface Pushed {
  digest: string;
  size: number;
  mediaType: string;
}
interface PulledFile {
  name: string;
  mediaType: string;
  digest: string;
  size: number;
}
interface Pulled {
  digest: string;
  mediaType: string;
  artifactType: string;
  configMediaType: string;
  files: PulledFile[];
}
interface Referrers {
  contentType: string;
  filtersApplied: string;
  mediaType: string;
  manifests: { mediaType: string; digest: string; size: number; artifactType?: string }[];
}

/** A chart archive shaped like `helm package` output: CHART/Chart.yaml and values.yaml, gzipped. */
async function chartArchive(name: string, version: string): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: `${name}/Chart.yaml` }, `apiVersion: v2\nname: ${name}\nversion: ${version}\ntype: application\n`);
  pack.entry({ name: `${name}/values.yaml` }, 'replicaCount: 1\n');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

/**
 * Pushes and pulls OCI artifacts with the oras-go client against Berth on one storage driver: a
 * generic artifact with two files, a Helm-chart-shaped artifact, and artifacts that refer to
 * another through `subject`, listed with the referrers API. The tests share one registry and run
 * in order.
 */
export function defineOrasSuite(options: { storage: () => Promise<Record<string, unknown>> }): void {
  let berth: RunningBerth;
  let client: string;
  let home: string;
  let files: string;
  const ref = (path: string): string => `${berth.hostPort}/${path}`;
  const oras = <T>(...args: string[]): Promise<T> => orasClient<T>(client, args, home);

  beforeAll(async () => {
    client = await buildOrasClient();
    home = await makeTempDir('oras-home');
    files = await makeTempDir('oras-files');
    // A generous start-up wait: on a loaded 2-core machine starting the worker processes takes a while.
    berth = await startBerth(testConfig(await options.storage()), { timeoutMs: 90_000 });
  }, 900_000);

  afterAll(async () => {
    if (berth) {
      const status = await berth.stop();
      expect(status).toEqual({ code: 0, signal: null });
    }
    await cleanupAll();
  });

  it('pushes a generic artifact with two files and pulls them back byte-identical, by tag and by digest', async () => {
    const readme = Buffer.from('artifact pushed by oras-go\n');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 11)) & 0xff;
    await writeFile(join(files, 'readme.txt'), readme);
    await writeFile(join(files, 'data.bin'), data);

    const pushed = await oras<Pushed>(
      'push',
      ref('artifacts/generic:v1'),
      '--config-media-type',
      'application/vnd.example.config.v1+json',
      '--artifact-type',
      'application/vnd.example.generic',
      `${join(files, 'readme.txt')}:text/plain`,
      `${join(files, 'data.bin')}:application/octet-stream`,
    );
    expect(pushed.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(await fetchTags(berth.url, 'artifacts/generic')).toEqual(['v1']);

    for (const reference of [ref('artifacts/generic:v1'), ref(`artifacts/generic@${pushed.digest}`)]) {
      const out = await makeTempDir('oras-pull');
      const pulled = await oras<Pulled>('pull', reference, out);
      expect(pulled).toMatchObject({
        digest: pushed.digest,
        artifactType: 'application/vnd.example.generic',
        configMediaType: 'application/vnd.example.config.v1+json',
      });
      expect(pulled.files.map((f) => [f.name, f.mediaType, f.size]).sort()).toEqual([
        ['data.bin', 'application/octet-stream', data.length],
        ['readme.txt', 'text/plain', readme.length],
      ]);
      expect((await readFile(join(out, 'data.bin'))).equals(data)).toBe(true);
      expect((await readFile(join(out, 'readme.txt'))).equals(readme)).toBe(true);
    }
  });

  it("pushes a Helm-chart-shaped artifact and pulls the chart back with Helm's allowed media types", async () => {
    const chart = await chartArchive('berth-demo', '0.1.0');
    const config = Buffer.from(JSON.stringify({ apiVersion: 'v2', name: 'berth-demo', version: '0.1.0', type: 'application' }));
    await writeFile(join(files, 'berth-demo-0.1.0.tgz'), chart);
    await writeFile(join(files, 'chart-config.json'), config);

    const pushed = await oras<Pushed>(
      'push',
      ref('charts/berth-demo:0.1.0'),
      '--config-media-type',
      HELM_CONFIG,
      '--config',
      join(files, 'chart-config.json'),
      `${join(files, 'berth-demo-0.1.0.tgz')}:${HELM_CHART}`,
    );

    const served = await fetch(`${berth.url}/v2/charts/berth-demo/manifests/0.1.0`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(served.status).toBe(200);
    expect(served.headers.get('docker-content-digest')).toBe(pushed.digest);
    const manifest = (await served.json()) as { config: { mediaType: string; digest: string }; layers: { mediaType: string; digest: string }[] };
    expect(manifest.config).toMatchObject({ mediaType: HELM_CONFIG, digest: sha256Digest(config) });
    expect(manifest.layers.map((l) => [l.mediaType, l.digest])).toEqual([[HELM_CHART, sha256Digest(chart)]]);

    const out = await makeTempDir('oras-pull');
    const pulled = await oras<Pulled>('pull', ref('charts/berth-demo:0.1.0'), out, '--allow', [HELM_CONFIG, HELM_CHART, HELM_PROV].join(','));
    expect(pulled).toMatchObject({ digest: pushed.digest, configMediaType: HELM_CONFIG });
    expect(pulled.files).toEqual([{ name: 'berth-demo-0.1.0.tgz', mediaType: HELM_CHART, digest: sha256Digest(chart), size: chart.length }]);
    expect((await readFile(join(out, 'berth-demo-0.1.0.tgz'))).equals(chart)).toBe(true);
  });

  it('discovers the artifacts pushed with a subject through the referrers API, filtered by artifactType, and pulls one by digest', async () => {
    await writeFile(join(files, 'subject.txt'), 'the subject\n');
    await writeFile(join(files, 'signature.sig'), 'a signature\n');
    await writeFile(join(files, 'sbom.json'), '{"packages":[]}\n');
    const subject = await oras<Pushed>('push', ref('artifacts/signed:v1'), `${join(files, 'subject.txt')}:text/plain`);
    const subjectRef = ref(`artifacts/signed@${subject.digest}`);
    const signature = await oras<Pushed>(
      'push',
      ref('artifacts/signed:signature'),
      '--artifact-type',
      'application/vnd.example.signature',
      '--subject',
      subjectRef,
      `${join(files, 'signature.sig')}:application/vnd.example.signature.v1`,
    );
    const sbom = await oras<Pushed>(
      'push',
      ref('artifacts/signed:sbom'),
      '--config-media-type',
      'application/vnd.example.sbom.config.v1+json',
      '--subject',
      subjectRef,
      `${join(files, 'sbom.json')}:application/spdx+json`,
    );

    const all = await oras<Referrers>('referrers', subjectRef);
    expect(all.contentType).toMatch(/^application\/vnd\.oci\.image\.index\.v1\+json/);
    expect(all.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(all.filtersApplied).toBe('');
    expect(all.manifests.map((m) => [m.digest, m.artifactType, m.size]).sort()).toEqual(
      [
        [signature.digest, 'application/vnd.example.signature', signature.size],
        [sbom.digest, 'application/vnd.example.sbom.config.v1+json', sbom.size],
      ].sort(),
    );

    const filtered = await oras<Referrers>('referrers', subjectRef, '--artifact-type', 'application/vnd.example.signature');
    expect(filtered.filtersApplied).toBe('artifactType');
    expect(filtered.manifests.map((m) => m.digest)).toEqual([signature.digest]);

    const none = await oras<Referrers>('referrers', ref(`artifacts/signed@${signature.digest}`));
    expect(none.manifests).toEqual([]);

    const out = await makeTempDir('oras-pull');
    const pulled = await oras<Pulled>('pull', ref(`artifacts/signed@${filtered.manifests[0]!.digest}`), out);
    expect(pulled.files.map((f) => f.name)).toEqual(['signature.sig']);
    expect(await readFile(join(out, 'signature.sig'), 'utf8')).toBe('a signature\n');
  });
}

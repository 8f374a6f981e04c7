import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT, startBerth, testConfig, type RunningBerth } from './berth';
import { buildOciLayout, sha256Digest, type Descriptor, type LayoutFixture } from './oci-layout';
import { cleanupAll, makeTempDir } from './processes';
import { skopeoCopy } from './skopeo';

/**
 * The web UI in a real Chromium (Debian's `chromium`, driven by playwright-core) against a running
 * `berth serve` with htpasswd auth, filled by skopeo: a multi-arch image, an image with an SBOM
 * artifact referring to it, several tags, and a nested repository. Screenshots of every page go to
 * `test-results/ui-<driver>-<page>.png` (kept by CI, not committed).
 */

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined. */
export function browserSkipReason(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;
}

const USER = 'alice';
const PASSWORD = 'wonderland';
const SBOM_TYPE = 'application/vnd.example.sbom.v1+json';

/** Adds to the layout an SBOM artifact whose `subject` is `subject`, as tag `sbom`. */
async function addReferrer(dir: string, subject: Descriptor): Promise<Descriptor> {
  const write = async (bytes: Buffer): Promise<string> => {
    const digest = sha256Digest(bytes);
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
    return digest;
  };
  const empty = Buffer.from('{}');
  const payload = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'fixture' }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: SBOM_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: await write(empty), size: empty.length },
      layers: [{ mediaType: 'application/spdx+json', digest: await write(payload), size: payload.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    }),
  );
  const descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: await write(manifest), size: manifest.length };
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] };
  index.manifests.push({ ...descriptor, annotations: { 'org.opencontainers.image.ref.name': 'sbom' } });
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return descriptor;
}

export interface UiSuiteOptions {
  readonly driver: string;
  readonly storage: () => Promise<Record<string, unknown>>;
}

export function defineUiBrowserSuite(options: UiSuiteOptions): void {
  let fixture: LayoutFixture;
  let sbom: Descriptor;
  let berth: RunningBerth;
  let browser: Browser;
  let context: BrowserContext;
  const shots = join(REPO_ROOT, 'test-results');
  const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

  async function screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(shots, `ui-${options.driver}-${name}.png`), fullPage: true });
  }

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    fixture = await buildOciLayout(await makeTempDir('ui-layout'), { singleLayers: [64 * 1024], platformLayer: 32 * 1024, baseLayer: 16 * 1024 });
    sbom = await addReferrer(fixture.dir, fixture.single.manifest);
    const htpasswd = join(await makeTempDir('ui-auth'), 'htpasswd');
    await writeFile(htpasswd, `${USER}:${bcrypt.hashSync(PASSWORD, 5).replace(/^\$2[ab]\$/, '$2y$')}\n`);
    berth = await startBerth({
      ...testConfig({ ...(await options.storage()), delete: { enabled: true } }),
      auth: { htpasswd: { realm: 'berth-ui-test', path: htpasswd } },
      ui: { enabled: true },
    });
    const creds = { dest: `${USER}:${PASSWORD}` };
    const to = (path: string): string => `docker://${berth.hostPort}/${path}`;
    await skopeoCopy(`oci:${fixture.dir}:multi`, to('app:multi'), creds);
    for (const tag of ['single', 'v1', 'v2']) await skopeoCopy(`oci:${fixture.dir}:single`, to(`app:${tag}`), creds);
    await skopeoCopy(`oci:${fixture.dir}:sbom`, to('app:sbom'), creds);
    await skopeoCopy(`oci:${fixture.dir}:single`, to('team/tools:latest'), creds);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60_000 });
    context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD }, viewport: { width: 1100, height: 800 } });
    context.setDefaultTimeout(30_000);
    // Six skopeo pushes and a browser start, on a machine that may be busy.
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    if (berth) expect(await berth.stop()).toEqual({ code: 0, signal: null });
    await cleanupAll();
  });

  it('shows nothing without credentials: the browser is asked for them (Basic challenge)', async () => {
    const anonymous = await browser.newContext();
    try {
      const html = await anonymous.request.get(`${berth.url}/ui/`);
      expect(html.status()).toBe(401);
      expect(html.headers()['www-authenticate']).toBe('Basic realm="berth-ui-test"');
      expect(await html.text()).not.toContain('<script');
      const api = await anonymous.request.get(`${berth.url}/ui/api/repositories`);
      expect(api.status()).toBe(401);
      expect(await api.text()).not.toContain('team/');
      // A browser without credentials to give stops at the challenge: no page at all.
      const page = await anonymous.newPage();
      await expect(page.goto(`${berth.url}/ui/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    } finally {
      await anonymous.close();
    }
  });

  it('signs in with htpasswd and browses the catalog: namespaces as folders, filtered as you type', async () => {
    const page = await context.newPage();
    await page.goto(`${berth.url}/ui/`);
    await page.getByRole('link', { name: 'app', exact: true }).waitFor();
    await expect(page.locator('#session').textContent()).resolves.toContain(`Signed in as ${USER}`);
    await page.getByRole('link', { name: 'team/' }).waitFor();
    await screenshot(page, 'catalog');
    await page.getByRole('searchbox', { name: 'Filter repositories' }).fill('tool');
    await page.getByRole('link', { name: 'team/tools' }).waitFor();
    expect(await page.getByRole('link', { name: 'app', exact: true }).count()).toBe(0);
    await page.getByRole('link', { name: 'team/tools' }).click();
    await page.getByRole('heading', { name: 'team/tools' }).waitFor();
    await page.close();
  });

  it('opens a repository: every tag with digest, size and platforms, and a pull command with the host name', async () => {
    const page = await context.newPage();
    await page.goto(`${berth.url}/ui/#/r/app`);
    const rows = page.locator('#tags tbody tr');
    await rows.first().waitFor();
    expect(await rows.locator('td:first-child').allTextContents()).toEqual(['multi', 'sbom', 'single', 'v1', 'v2']);
    const multi = rows.filter({ hasText: 'multi' });
    await expect(multi.textContent()).resolves.toContain('linux/amd64');
    await expect(multi.textContent()).resolves.toContain('linux/arm64');
    await expect(rows.filter({ hasText: 'sbom' }).textContent()).resolves.toContain(SBOM_TYPE);
    await expect(page.locator('.pull code').textContent()).resolves.toBe(`docker pull ${berth.hostPort}/app:multi`);
    await screenshot(page, 'repository');
    await page.close();
  });

  it('opens the multi-arch tag and sees both platforms, each linking to its image', async () => {
    const page = await context.newPage();
    await page.goto(`${berth.url}/ui/#/r/app`);
    await page.getByRole('link', { name: 'multi', exact: true }).click();
    const platforms = page.locator('#platforms tbody tr');
    await platforms.first().waitFor();
    expect(await platforms.locator('td:first-child').allTextContents()).toEqual(['linux/amd64', 'linux/arm64']);
    await screenshot(page, 'index');
    await platforms.nth(1).getByRole('link').click();
    await page.locator('#layers').waitFor();
    await expect(page.locator('main').textContent()).resolves.toContain('linux/arm64');
    await screenshot(page, 'platform-image');
    await page.close();
  });

  it('shows the image with its config, layers and its referrer grouped by artifactType, linked both ways', async () => {
    const page = await context.newPage();
    await page.goto(`${berth.url}/ui/#/m/app@single`);
    await page.locator('#referrers').waitFor();
    await expect(page.locator('#referrers h3').allTextContents()).resolves.toEqual([SBOM_TYPE]);
    await expect(page.locator('#layers tbody tr').count()).resolves.toBe(fixture.single.layers.length);
    await expect(page.locator('main').textContent()).resolves.toContain('/bin/sh');
    await screenshot(page, 'image');
    await page.locator('#referrers a').click();
    await page.locator('#subject').waitFor();
    expect(await page.locator('h1').textContent()).toContain(sbom.digest.slice(7, 19));
    await screenshot(page, 'referrer');
    await page.locator('#subject').click();
    await page.locator('#referrers').waitFor();
    expect(await page.locator('main dl').first().textContent()).toContain(fixture.single.manifest.digest);
    await page.close();
  });

  it('deletes a tag after confirmation, and the registry API no longer lists it', async () => {
    const page = await context.newPage();
    await page.goto(`${berth.url}/ui/#/r/app`);
    const row = page.locator('#tags tbody tr').filter({ has: page.getByRole('link', { name: 'v2', exact: true }) });
    await row.waitFor();
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await row.getByRole('button', { name: 'Delete tag v2' }).click();
    await page.getByRole('link', { name: 'v2', exact: true }).waitFor({ state: 'detached' });
    expect(asked).toEqual([expect.stringContaining('Delete tag v2 of app')]);
    const list = await fetch(`${berth.url}/v2/app/tags/list`, { headers: { Authorization: basic } });
    expect(((await list.json()) as { tags: string[] }).tags.sort()).toEqual(['multi', 'sbom', 'single', 'v1']);
    await screenshot(page, 'after-delete');
    await page.close();
  });

  it('shows the storage used per repository, computed by the server', async () => {
    const page = await context.newPage();
    await page.goto(`${berth.url}/ui/#/storage`);
    const rows = page.locator('#usage tbody tr');
    await rows.first().waitFor();
    expect(await rows.locator('td:first-child').allTextContents()).toEqual(['app', 'team/tools']);
    expect(await page.locator('#total').textContent()).toMatch(/\d+(\.\d+)? kB/);
    await screenshot(page, 'storage');
    await page.close();
  });

  it('shows an API error in words, not a blank page', async () => {
    const page = await context.newPage();
    await page.goto(`${berth.url}/ui/#/r/no-such-repository`);
    await page.getByRole('alert').waitFor();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('NAME_UNKNOWN');
    await screenshot(page, 'error');
    await page.close();
  });
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConfigCheck } from '../src/config-commands';
import { describeError, loadEffectiveConfig, SystemConfigError } from '../src/load';
import { startupLine } from '../src/startup';

/**
 * The file at the system location (/etc/docker/registry/config.yml) is read when nothing names a
 * file; the user may not know it is there (Debian's docker-registry package installs one whose
 * htpasswd path is a directory). The location is a parameter, so these tests use a temp file.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-system-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A config.yml like Debian's: filesystem storage, htpasswd auth whose path is `htpasswdPath`. */
async function systemConfig(htpasswdPath: string): Promise<string> {
  const path = join(dir, 'config.yml');
  const yaml = [
    'version: 0.1',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    'http:',
    '  addr: 127.0.0.1:0',
    'auth:',
    '  htpasswd:',
    '    realm: basic-realm',
    `    path: ${htpasswdPath}`,
    '',
  ].join('\n');
  await writeFile(path, yaml);
  return path;
}

function thrown(body: () => unknown): unknown {
  try {
    body();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('the configuration found at the system location', () => {
  it('an htpasswd path that is a directory: one line saying so, naming the file that was read and why', async () => {
    const systemConfigPath = await systemConfig(dir);
    const error = thrown(() => runConfigCheck(undefined, {}, { systemConfigPath }));
    expect(error).toBeInstanceOf(SystemConfigError);
    const line = describeError(error);
    expect(line).not.toContain('\n');
    expect(line).toMatch(new RegExp(`^auth\\.htpasswd\\.path: ${dir} is a directory, not an htpasswd file`));
    expect(line).toContain(`[in ${systemConfigPath}, read because no file was named and REGISTRY_CONFIGURATION_PATH is not set;`);
    expect(line).not.toContain(`htpasswd -cB ${dir} `);
  });

  it('the same file named on the command line gets no such note', async () => {
    const path = await systemConfig(dir);
    const line = describeError(thrown(() => runConfigCheck(path, {}, { systemConfigPath: path })));
    expect(line).toMatch(/^auth\.htpasswd\.path: .* is a directory/);
    expect(line).not.toContain('read because no file was named');
  });

  it('the start-up line says the file at the system location is used because none was named', async () => {
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, '');
    const systemConfigPath = await systemConfig(htpasswd);
    const { config, source } = loadEffectiveConfig(undefined, {}, { systemConfigPath });
    const line = startupLine(config, source, '127.0.0.1:5000');
    expect(line.message).toMatch(
      new RegExp(`listening on 127\\.0\\.0\\.1:5000 with \\d+ process(es)?, filesystem storage at ${join(dir, 'data')}, configuration ${systemConfigPath} \\(no file named`),
    );
    expect(line.fields).toMatchObject({ config: systemConfigPath, driver: 'filesystem', rootdirectory: join(dir, 'data') });
  });

  it('REGISTRY_CONFIGURATION_PATH wins over the system location', async () => {
    const systemConfigPath = await systemConfig(dir);
    const named = join(dir, 'named.yml');
    await writeFile(named, 'version: 0.1\nstorage:\n  inmemory: {}\n');
    const { source } = loadEffectiveConfig(undefined, { REGISTRY_CONFIGURATION_PATH: named }, { systemConfigPath });
    expect(source).toEqual({ kind: 'file', path: named, origin: 'environment' });
  });
});

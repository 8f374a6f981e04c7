import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeTempDir, spawnTracked, stopProcess, type ExitStatus, type Spawned } from './processes';
import { writeFile } from 'node:fs/promises';

/** CNCF distribution 2.8.2 as Debian packages it (`docker-registry`). */
export const DOCKER_REGISTRY = '/usr/bin/docker-registry';

export function dockerRegistrySkipReason(): string | undefined {
  return existsSync(DOCKER_REGISTRY) ? undefined : `${DOCKER_REGISTRY} is not installed (apt-get install docker-registry)`;
}

export interface RunningDistribution {
  readonly process: Spawned;
  readonly hostPort: string;
  stop(): Promise<ExitStatus>;
}

/**
 * Runs `docker-registry serve` on a filesystem root (delete enabled) on a free loopback port, and
 * resolves once `/v2/` answers.
 */
export async function startDistribution(rootDirectory: string): Promise<RunningDistribution> {
  const port = await freePort();
  const dir = await makeTempDir('distribution');
  const configPath = join(dir, 'config.yml');
  await writeFile(
    configPath,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(rootDirectory)}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: distribution-e2e',
      '',
    ].join('\n'),
  );
  const spawned = spawnTracked(DOCKER_REGISTRY, ['serve', configPath], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const hostPort = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (spawned.child.exitCode !== null) throw new Error(`docker-registry exited:\n${spawned.output()}`);
    const ok = await fetch(`http://${hostPort}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${hostPort}:\n${spawned.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { process: spawned, hostPort, stop: () => stopProcess(spawned, 'SIGTERM') };
}

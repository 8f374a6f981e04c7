import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { run } from './processes';

/**
 * The Go client in `../oras-client/` (oras-go v1, the OCI library of Helm 3.8-3.16 and of early
 * releases of the oras command), built offline from Debian's packages: `golang-go` and
 * `golang-oras-oras-go-dev`, in GOPATH mode against /usr/share/gocode, with no module proxy.
 */

export const ORAS_CLIENT_SOURCE = join(__dirname, '..', 'oras-client');
const GOPATH = '/usr/share/gocode';
const ORAS_GO = join(GOPATH, 'src/oras.land/oras-go');
/** A first build compiles containerd and its dependencies: minutes on a busy 2-core machine. */
const BUILD_TIMEOUT_MS = 600_000;

function findGo(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  return existsSync('/usr/bin/go') ? '/usr/bin/go' : undefined;
}

/** Why the client cannot be built here, or undefined when it can. */
export function orasClientSkipReason(): string | undefined {
  const missing = [];
  if (!findGo()) missing.push('go (apt-get install golang-go)');
  if (!existsSync(ORAS_GO)) missing.push(`${ORAS_GO} (apt-get install golang-oras-oras-go-dev)`);
  return missing.length > 0 ? `cannot build the oras-go client: ${missing.join(', ')} not installed` : undefined;
}

/**
 * Builds the client once per source version: the binary is cached in the temp dir under a hash of
 * main.go. One test file builds while the others wait on a lock directory (a lock older than the
 * build's timeout is taken as abandoned); the build goes to a unique name and is renamed into
 * place, so nobody ever runs half a binary. Returns the binary's path.
 */
export async function buildOrasClient(): Promise<string> {
  const source = readFileSync(join(ORAS_CLIENT_SOURCE, 'main.go'));
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'berth-oras-client');
  const binary = join(dir, `oras-client-${hash}`);
  const lock = `${binary}.lock`;
  await mkdir(dir, { recursive: true });
  for (;;) {
    if (existsSync(binary)) return binary;
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (since > BUILD_TIMEOUT_MS) await rmdir(lock).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  const partial = `${binary}.${process.pid}`;
  try {
    if (existsSync(binary)) return binary;
    await run(findGo()!, ['build', '-o', partial, '.'], {
      cwd: ORAS_CLIENT_SOURCE,
      timeoutMs: BUILD_TIMEOUT_MS,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? dir,
        GO111MODULE: 'off',
        GOPATH,
        GOPROXY: 'off',
        GOFLAGS: '',
        GOCACHE: join(dir, 'go-build-cache'),
        CGO_ENABLED: '0',
      },
    });
    await rename(partial, binary);
  } finally {
    await rm(partial, { force: true });
    await rmdir(lock).catch(() => undefined);
  }
  return binary;
}

/** Runs the client; resolves with its JSON answer, rejects with its stderr on a non-zero exit. */
export async function orasClient<T = Record<string, unknown>>(binary: string, args: readonly string[], home: string): Promise<T> {
  // HOME points at an empty dir, so no developer's ~/.docker/config.json credentials are used.
  const { stdout } = await run(binary, args, { timeoutMs: 120_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home } });
  return JSON.parse(stdout) as T;
}

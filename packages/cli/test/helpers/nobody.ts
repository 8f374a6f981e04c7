import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { BERTH_BIN, REPO_ROOT } from './berth';
import { makeTempDir } from './processes';

/** The user and group root runs a server as when a test needs permissions to apply. */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

/** What a process running as nobody executes: node, the berth command, and the folder to start in. */
export interface NobodyRuntime {
  readonly node: string;
  readonly berthBin: string;
  readonly cwd: string;
}

/** Whether nobody can run `node` at `nodePath` and read every file in `files` (false when spawning fails). */
function nobodyCanRead(nodePath: string, files: readonly string[]): boolean {
  const probe = spawnSync(nodePath, ['-e', 'for (const f of process.argv.slice(1)) require("fs").accessSync(f, 4)', ...files], {
    ...NOBODY,
    cwd: '/',
    stdio: 'ignore',
    timeout: 30_000,
  });
  return probe.error === undefined && probe.status === 0;
}

/** The folder of `name` as Node resolves it from `fromDir` inside the checkout, or undefined. */
function resolvePackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === REPO_ROOT || dir === dirname(dir)) return undefined;
  }
}

/**
 * The production dependency folders of every workspace package, transitively (what `berth serve`
 * may load), as folders directly under a node_modules (nested node_modules come along with them).
 */
function runtimeDependencyDirs(): string[] {
  const found = new Set<string>();
  const pending: string[] = [];
  const visit = (pkgDir: string): void => {
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
      if (name.startsWith('@berth/')) continue;
      const dir = resolvePackageDir(name, pkgDir);
      if (dir && !found.has(dir)) {
        found.add(dir);
        pending.push(dir);
      }
    }
  };
  for (const pkg of readdirNames(join(REPO_ROOT, 'packages'))) visit(join(REPO_ROOT, 'packages', pkg));
  while (pending.length > 0) visit(pending.pop()!);
  // A dependency nested in another's node_modules is copied with its parent.
  return [...found].filter((dir) => ![...found].some((other) => other !== dir && dir.startsWith(other + '/')));
}

function readdirNames(dir: string): string[] {
  return readdirSync(dir).filter((name) => existsSync(join(dir, name, 'package.json')));
}

/**
 * What a server running as nobody can execute. From a checkout nobody can read (a clone under
 * /root or in a `mktemp -d` folder, as CI containers make), the built runtime is copied into a
 * world-readable temp folder: package.json files, `dist` and `bin` of every package, the
 * production dependencies and their @berth links; and node itself when nobody cannot run it
 * (Node from a folder inside such a checkout). Otherwise the checkout is used as it is.
 */
export async function nobodyRuntime(): Promise<NobodyRuntime> {
  const nodeOk = nobodyCanRead(process.execPath, []);
  if (nodeOk && nobodyCanRead(process.execPath, [BERTH_BIN, join(REPO_ROOT, 'packages/cli/dist/main.js'), join(REPO_ROOT, 'node_modules/commander/package.json')])) {
    return { node: process.execPath, berthBin: BERTH_BIN, cwd: REPO_ROOT };
  }
  const copy = await makeTempDir('nobody-runtime');
  await chmod(copy, 0o755);
  await copyFile(join(REPO_ROOT, 'package.json'), join(copy, 'package.json'));
  for (const pkg of readdirNames(join(REPO_ROOT, 'packages'))) {
    const from = join(REPO_ROOT, 'packages', pkg);
    const to = join(copy, 'packages', pkg);
    await mkdir(to, { recursive: true });
    await copyFile(join(from, 'package.json'), join(to, 'package.json'));
    for (const sub of ['dist', 'bin']) {
      if (existsSync(join(from, sub))) await cp(join(from, sub), join(to, sub), { recursive: true });
    }
  }
  for (const dir of runtimeDependencyDirs()) {
    await cp(dir, join(copy, relative(REPO_ROOT, dir)), { recursive: true, verbatimSymlinks: true });
  }
  const links = join(REPO_ROOT, 'node_modules/@berth');
  await cp(links, join(copy, 'node_modules/@berth'), { recursive: true, verbatimSymlinks: true });
  let node = process.execPath;
  if (!nodeOk) {
    node = join(copy, 'node');
    await copyFile(process.execPath, node);
    await chmod(node, 0o755);
  }
  await makeWorldReadable(copy);
  return { node, berthBin: join(copy, 'packages/cli/bin/berth.js'), cwd: copy };
}

/** Directories 755, files readable by all and executable by all when their owner may execute them. */
async function makeWorldReadable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) {
      await makeWorldReadable(path);
    } else {
      const mode = (await stat(path)).mode & 0o777;
      await chmod(path, mode | 0o444 | (mode & 0o100 ? 0o011 : 0));
    }
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

/**
 * Debian's nginx (`apt-get install -y nginx-light`) as the load balancer in front of several Berth
 * replicas: one non-daemon master on 127.0.0.1:<free port>, its prefix, config, pid file and temp
 * directories in one fresh temp dir, its error log on stderr. Round-robin over the upstreams with
 * the settings a registry needs (docs/scale-out.md has the same block for operators).
 */

export const NGINX = '/usr/sbin/nginx';

/** Why nginx tests cannot run here, or undefined when they can. */
export function nginxSkipReason(): string | undefined {
  try {
    accessSync(NGINX, constants.X_OK);
    return undefined;
  } catch {
    return `${NGINX} is not installed (apt-get install -y nginx-light)`;
  }
}

export interface NginxOptions {
  /** `host:port` of each upstream server, balanced round-robin. */
  readonly upstreams: readonly string[];
  readonly port: number;
  /** The prefix: temp files and the pid file go there. */
  readonly prefix: string;
  /**
   * Run the workers as root. Needed when the master runs as root from a folder only root can read
   * (mkdtemp's 0700 directories): nginx would otherwise switch its workers to `nobody`.
   */
  readonly workersAsRoot: boolean;
}

/** The generated nginx.conf: the registry settings of docs/scale-out.md on a loopback listener. */
export function nginxConfig(options: NginxOptions): string {
  const servers = options.upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=2s;`).join('\n');
  return `${options.workersAsRoot ? 'user root root;\n' : ''}worker_processes 1;
pid ${join(options.prefix, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${join(options.prefix, 'client_body')};
  proxy_temp_path ${join(options.prefix, 'proxy')};
  fastcgi_temp_path ${join(options.prefix, 'fastcgi')};
  uwsgi_temp_path ${join(options.prefix, 'uwsgi')};
  scgi_temp_path ${join(options.prefix, 'scgi')};
  upstream berth {
${servers}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${options.port};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    chunked_transfer_encoding on;
    proxy_connect_timeout 5s;
    proxy_read_timeout 900s;
    proxy_send_timeout 900s;
    location / {
      proxy_pass http://berth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
}

export interface RunningNginx {
  /** `127.0.0.1:<port>`, as skopeo wants it. */
  readonly hostPort: string;
  readonly url: string;
  /** The master's output so far (the error log). */
  output(): string;
  /** Stops the master and its worker (SIGQUIT, then SIGKILL) and removes the prefix. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Whether nginx (its `Server` header, not another process that took the port) answers on `port`. */
async function nginxAnswers(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return (response.headers.get('server') ?? '').startsWith('nginx');
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // SIGQUIT: graceful; the master takes its worker with it. SIGKILL of the master alone would leave
  // the worker, which notices only at its next event.
  child.kill('SIGQUIT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts nginx in front of `upstreams` and resolves once it accepts connections. Rejects with
 * nginx's output when it exits first or is not up within `timeoutMs`, having stopped it and
 * removed its directory. A port taken between choosing and binding is retried with another.
 */
export async function startNginx(upstreams: readonly string[], timeoutMs = 30_000): Promise<RunningNginx> {
  const reason = nginxSkipReason();
  if (reason) throw new Error(reason);
  if (upstreams.length === 0) throw new Error('nginx needs at least one upstream');
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(upstreams, await freePort(), timeoutMs);
    } catch (error) {
      lastError = error as Error;
      if (!/Address already in use/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

async function startOnce(upstreams: readonly string[], port: number, timeoutMs: number): Promise<RunningNginx> {
  const prefix = await mkdtemp(join(tmpdir(), 'berth-nginx-'));
  const conf = join(prefix, 'nginx.conf');
  const workersAsRoot = process.getuid?.() === 0;
  await writeFile(conf, nginxConfig({ upstreams, port, prefix, workersAsRoot }));
  // -e: the error log before the config is read (Debian's default is /var/log/nginx/error.log).
  const child = spawn(NGINX, ['-p', prefix, '-c', conf, '-e', 'stderr', '-g', 'daemon off; master_process on;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) =>
    child.once('close', () => {
      running.delete(child);
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    await stopChild(child, exited);
    await rm(prefix, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited before accepting connections:\n${output}`);
      if (await nginxAnswers(port)) break;
      if (Date.now() > deadline) throw new Error(`nginx did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { hostPort: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, output: () => output, stop };
}

import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NGINX, nginxSkipReason, startNginx, type RunningNginx } from '../../../test-support/nginx';

/**
 * The nginx the multi-replica tests put in front of Berth (test-support/nginx.ts), checked against
 * two plain node servers: round-robin, the Host header kept, request bodies streamed (not spooled),
 * and nothing left running after stop.
 */

const skipReason = nginxSkipReason();
if (skipReason) console.warn(`SKIPPED the nginx balancer: ${skipReason}`);
const describeNginx = skipReason ? describe.skip : describe;

describeNginx('nginx from test-support in front of two upstreams', () => {
  const servers: Server[] = [];
  let nginx: RunningNginx;
  /** Resolved by an upstream when the first bytes of a streamed body reach it. */
  let firstBytes: ((n: number) => void) | undefined;

  async function upstream(name: string): Promise<string> {
    const server = createServer((req: IncomingMessage, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstBytes?.(chunk.length);
        bytes += chunk.length;
      });
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ name, host: req.headers.host, forwardedHost: req.headers['x-forwarded-host'], bytes }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    nginx = await startNginx([await upstream('a'), await upstream('b')]);
  });

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('alternates between the upstreams and passes the client-facing Host on', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const body = (await (await fetch(`${nginx.url}/v2/`)).json()) as { name: string; host: string; forwardedHost: string };
      expect(body.host).toBe(nginx.hostPort);
      expect(body.forwardedHost).toBe(nginx.hostPort);
      seen.push(body.name);
    }
    expect(new Set(seen)).toEqual(new Set(['a', 'b']));
    expect(seen[0]).not.toBe(seen[1]);
  });

  it('streams a chunked request body to the upstream before the client has sent all of it', async () => {
    const reached = new Promise<number>((resolve) => (firstBytes = resolve));
    const req = request(`${nginx.url}/upload`, { method: 'PATCH', headers: { 'transfer-encoding': 'chunked' } });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    req.write(Buffer.alloc(64 * 1024, 1));
    // The upstream sees the first chunk while the request is still open: nginx does not spool it.
    let timer: NodeJS.Timeout | undefined;
    const spooled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the upstream saw nothing of the open request within 30 s: nginx buffers bodies')), 30_000);
    });
    try {
      expect(await Promise.race([reached, spooled])).toBeGreaterThan(0);
    } finally {
      clearTimeout(timer);
    }
    req.end(Buffer.alloc(64 * 1024, 2));
    const res = await response;
    let text = '';
    for await (const chunk of res) text += String(chunk);
    expect(res.statusCode).toBe(200);
    expect((JSON.parse(text) as { bytes: number }).bytes).toBe(128 * 1024);
  });

  it('takes a body larger than nginx default 1 MiB limit (client_max_body_size 0)', async () => {
    const response = await fetch(`${nginx.url}/blob`, { method: 'PUT', body: Buffer.alloc(3 * 1024 * 1024, 7) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { bytes: number }).bytes).toBe(3 * 1024 * 1024);
  });

  it('stops the master and its worker: the port refuses connections afterwards', async () => {
    const other = await startNginx([servers.length > 0 ? `127.0.0.1:${(servers[0]!.address() as AddressInfo).port}` : '127.0.0.1:1']);
    expect((await fetch(`${other.url}/`)).status).toBe(200);
    await other.stop();
    await expect(fetch(`${other.url}/`)).rejects.toThrow();
  });
});

describeNginx("docker-compose.yml's nginx.conf (deploy/compose/nginx.conf)", () => {
  it('passes nginx -t, with the replicas named on loopback', () => {
    const prefix = mkdtempSync(join(tmpdir(), 'berth-nginx-t-'));
    try {
      const conf = readFileSync(resolve(__dirname, '../../../deploy/compose/nginx.conf'), 'utf8').replace(/\bberth-(\d+):5000\b/g, '127.0.0.1:500$1');
      writeFileSync(join(prefix, 'site.conf'), conf);
      writeFileSync(
        join(prefix, 'nginx.conf'),
        `pid ${join(prefix, 'nginx.pid')};\nerror_log stderr;\nevents {}\nhttp {\n  client_body_temp_path ${prefix};\n  proxy_temp_path ${prefix};\n  include ${join(prefix, 'site.conf')};\n}\n`,
      );
      const result = spawnSync(NGINX, ['-t', '-q', '-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr'], { encoding: 'utf8', timeout: 30_000 });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });
});

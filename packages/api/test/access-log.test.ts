import express from 'express';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import type { Logger, StorageDriver } from '@berth/storage-driver';
import { uploadEventsOf, type AppOptions, type RequestRecord } from '@berth/api';
import { appOptions, listen, rawRequest, sha256, testApp } from './support/harness';

/** The access log, request ids, the request observer and the storage health gate, over real HTTP. */

interface Line {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every line with the fields of its child chain merged in. */
function recordingLogger(lines: Line[], bound: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (message: string, meta: Record<string, unknown> = {}): void =>
      void lines.push({ level, message, fields: { ...bound, ...meta } });
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (fields: Record<string, unknown>) => recordingLogger(lines, { ...bound, ...fields }),
  } as unknown as Logger;
}

interface Served {
  port: number;
  lines: Line[];
  records: RequestRecord[];
  started: number;
  close(): Promise<void>;
  /** The access log lines ('request' at info). */
  accessLines(): Record<string, unknown>[];
  /** Waits until `n` requests were recorded (the record is made when the connection is done). */
  recorded(n: number): Promise<RequestRecord[]>;
}

async function serve(driver: StorageDriver, overrides: Partial<AppOptions> = {}, wrap?: (app: express.Express) => express.Express): Promise<Served> {
  const lines: Line[] = [];
  const records: RequestRecord[] = [];
  const served = { lines, records, started: 0 } as Served;
  const app = testApp(
    appOptions(driver, {
      logger: recordingLogger(lines),
      observer: { requestStarted: () => void served.started++, requestFinished: (record) => void records.push(record) },
      ...overrides,
    }),
  );
  const server = await listen(wrap ? wrap(app) : app);
  served.port = server.port;
  served.close = server.close;
  served.accessLines = () => lines.filter((l) => l.message === 'request' && l.level === 'info').map((l) => l.fields);
  served.recorded = async (n) => {
    const deadline = Date.now() + 5000;
    while (records.length < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    return records;
  };
  return served;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('the access log', () => {
  let driver: StorageDriver;
  let served: Served;
  beforeEach(async () => {
    driver = createInMemoryDriver();
    served = await serve(driver);
  });
  afterEach(() => served.close());

  it('writes one info line per request with id, peer, route, repository, status, bytes and duration, and no undefined field', async () => {
    const body = Buffer.from('a small layer');
    const response = await rawRequest(served.port, 'POST', `/v2/library/app/blobs/uploads/?digest=${sha256(body)}`, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length), 'User-Agent': 'access-log-test/1' },
      chunks: [body],
    });
    expect(response?.status).toBe(201);
    await served.recorded(1);

    const [line] = served.accessLines();
    expect(line).toEqual({
      component: 'http',
      requestId: response!.headers['x-request-id'],
      method: 'POST',
      path: '/v2/library/app/blobs/uploads/',
      route: 'upload-start',
      repository: 'library/app',
      remoteAddr: '127.0.0.1',
      status: 201,
      bytesIn: body.length,
      bytesOut: 0,
      durationMs: expect.any(Number),
      userAgent: 'access-log-test/1',
    });
    expect(Object.values(line!)).not.toContain(undefined);
    expect(served.lines.filter((l) => l.message === 'request')).toHaveLength(1);
  });

  it('counts streamed (chunked) request bodies and response bodies, and no body bytes for HEAD', async () => {
    const start = await rawRequest(served.port, 'POST', '/v2/app/blobs/uploads/');
    const location = String(start!.headers.location);
    const chunks = [Buffer.alloc(70_000, 1), Buffer.alloc(50_000, 2), Buffer.alloc(3, 3)];
    const content = Buffer.concat(chunks);
    const patched = await rawRequest(served.port, 'PATCH', new URL(location).pathname + new URL(location).search, { chunks });
    expect(patched?.status).toBe(202);
    const put = new URL(String(patched!.headers.location));
    put.searchParams.set('digest', sha256(content));
    expect((await rawRequest(served.port, 'PUT', put.pathname + put.search))?.status).toBe(201);
    const got = await rawRequest(served.port, 'GET', `/v2/app/blobs/${sha256(content)}`);
    expect(got?.body.length).toBe(content.length);
    expect((await rawRequest(served.port, 'HEAD', `/v2/app/blobs/${sha256(content)}`))?.status).toBe(200);

    const records = await served.recorded(5);
    expect(records.map((r) => [r.route, r.method, r.status, r.bytesIn, r.bytesOut])).toEqual([
      ['upload-start', 'POST', 202, 0, 0],
      ['upload', 'PATCH', 202, content.length, 0],
      ['upload', 'PUT', 201, 0, 0],
      ['blob', 'GET', 200, 0, content.length],
      ['blob', 'HEAD', 200, 0, 0],
    ]);
    expect(served.started).toBe(5);
  });

  it('gives every response an X-Request-Id: the client’s when it is sane, a fresh UUID otherwise', async () => {
    const mine = await rawRequest(served.port, 'GET', '/v2/', { headers: { 'X-Request-Id': 'lb-7f3a.91:2' } });
    const none = await rawRequest(served.port, 'GET', '/v2/');
    const spaced = await rawRequest(served.port, 'GET', '/v2/', { headers: { 'X-Request-Id': 'two words' } });
    const long = await rawRequest(served.port, 'GET', '/v2/', { headers: { 'X-Request-Id': 'x'.repeat(129) } });
    expect(mine!.headers['x-request-id']).toBe('lb-7f3a.91:2');
    for (const response of [none, spaced, long]) expect(response!.headers['x-request-id']).toMatch(UUID);
    expect(new Set([none, spaced, long].map((r) => r!.headers['x-request-id'])).size).toBe(3);
    const records = await served.recorded(4);
    expect(records.map((r) => r.requestId)).toEqual([mine, none, spaced, long].map((r) => r!.headers['x-request-id']));
  });

  it('names no route for a path outside the API and 404 paths, and logs 499 for a client that went away', async () => {
    expect((await rawRequest(served.port, 'GET', '/elsewhere'))?.status).toBe(404);
    expect((await rawRequest(served.port, 'GET', '/v2/app/nothing'))?.status).toBe(404);
    const start = await rawRequest(served.port, 'POST', '/v2/app/blobs/uploads/');
    const location = new URL(String(start!.headers.location));
    await rawRequest(served.port, 'PATCH', location.pathname + location.search, { chunks: [Buffer.alloc(1000)], abort: true });
    const records = await served.recorded(4);
    expect(records.map((r) => [r.route, r.status])).toEqual([
      ['none', 404],
      ['none', 404],
      ['upload-start', 202],
      ['upload', 499],
    ]);
    expect(records[3]!.bytesIn).toBe(1000);
  });
});

describe('the access log with options', () => {
  it('prints nothing with log.accesslog.disabled, while the observer still hears of every request', async () => {
    const served = await serve(createInMemoryDriver(), { accessLogDisabled: true });
    try {
      await rawRequest(served.port, 'GET', '/v2/');
      await rawRequest(served.port, 'GET', '/v2/app/tags/list');
      expect((await served.recorded(2)).map((r) => r.status)).toEqual([200, 404]);
      expect(served.lines.filter((l) => l.message === 'request')).toEqual([]);
    } finally {
      await served.close();
    }
  });

  it('still answers X-Request-Id and logs with it when the log is disabled and nobody observes requests', async () => {
    const served = await serve(createInMemoryDriver(), { accessLogDisabled: true, observer: undefined });
    try {
      const response = await rawRequest(served.port, 'GET', '/v2/app/tags/list', { headers: { 'X-Request-Id': 'abc-123' } });
      expect(response?.status).toBe(404);
      expect(response?.headers['x-request-id']).toBe('abc-123');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(served.lines.filter((l) => l.message === 'request')).toEqual([]);
      expect(served.records).toEqual([]);
    } finally {
      await served.close();
    }
  });

  it('logs the user the authorization middleware left in res.locals.user', async () => {
    const withUser = (app: express.Express): express.Express =>
      express()
        .use((req, res, next) => {
          res.locals.user = req.headers['x-test-user'] === 'object' ? { name: 'bob' } : 'alice';
          next();
        })
        .use(app);
    const served = await serve(createInMemoryDriver(), {}, withUser);
    try {
      await rawRequest(served.port, 'GET', '/v2/');
      await rawRequest(served.port, 'GET', '/v2/', { headers: { 'X-Test-User': 'object' } });
      expect((await served.recorded(2)).map((r) => r.user)).toEqual(['alice', 'bob']);
      expect(served.accessLines().map((l) => l.user)).toEqual(['alice', 'bob']);
    } finally {
      await served.close();
    }
  });
});

describe('upload outcomes of requests', () => {
  it('are started, committed, cancelled and failed as the upload requests end', async () => {
    const served = await serve(createInMemoryDriver());
    try {
      const session = async (): Promise<URL> => new URL(String((await rawRequest(served.port, 'POST', '/v2/app/blobs/uploads/'))!.headers.location));
      const one = await session();
      await rawRequest(served.port, 'DELETE', one.pathname + one.search);
      const two = await session();
      two.searchParams.set('digest', sha256('other bytes'));
      expect((await rawRequest(served.port, 'PUT', two.pathname + two.search, { chunks: [Buffer.from('some bytes')] }))?.status).toBe(400);
      const body = Buffer.from('monolithic');
      await rawRequest(served.port, 'POST', `/v2/app/blobs/uploads/?digest=${sha256(body)}`, { chunks: [body] });
      await rawRequest(served.port, 'POST', `/v2/other/blobs/uploads/?mount=${sha256(body)}&from=app`);
      const records = await served.recorded(6);
      expect(records.map((r) => r.uploadEvents)).toEqual([['started'], ['cancelled'], ['started'], ['failed'], ['started', 'committed'], []]);
      expect(records[5]!.status).toBe(201);
    } finally {
      await served.close();
    }
  });

  it('count a mount that fell back to a session as started, and a refused plain start as nothing', () => {
    expect(uploadEventsOf('upload-start', 'POST', 202, { digest: false, mount: true })).toEqual(['started']);
    expect(uploadEventsOf('upload-start', 'POST', 405, { digest: false, mount: false })).toEqual([]);
    expect(uploadEventsOf('upload-start', 'POST', 400, { digest: true, mount: false })).toEqual(['started', 'failed']);
    expect(uploadEventsOf('upload', 'PATCH', 416, { digest: false, mount: false })).toEqual([]);
    expect(uploadEventsOf('upload', 'PUT', 499, { digest: true, mount: false })).toEqual(['failed']);
  });
});

describe('the storage health gate', () => {
  it('answers 503 UNAVAILABLE to API requests that need storage while unhealthy, keeps /v2/ answering, and recovers', async () => {
    let healthy = false;
    const served = await serve(createInMemoryDriver(), { storageHealthy: () => healthy });
    try {
      expect((await rawRequest(served.port, 'GET', '/v2/'))?.status).toBe(200);
      for (const [method, path] of [
        ['GET', '/v2/app/tags/list'],
        ['GET', '/v2/_catalog'],
        ['HEAD', `/v2/app/blobs/${sha256('x')}`],
        ['POST', '/v2/app/blobs/uploads/'],
      ] as const) {
        const response = await rawRequest(served.port, method, path);
        expect([method, path, response?.status]).toEqual([method, path, 503]);
        if (method !== 'HEAD') {
          expect(response!.headers['content-type']).toBe('application/json');
          expect(JSON.parse(response!.body.toString()).errors[0]).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('health check') });
        }
      }
      healthy = true;
      expect((await rawRequest(served.port, 'GET', '/v2/app/tags/list'))?.status).toBe(404);
      expect((await rawRequest(served.port, 'POST', '/v2/app/blobs/uploads/'))?.status).toBe(202);
    } finally {
      await served.close();
    }
  });
});

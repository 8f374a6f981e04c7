import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { StorageDriver } from '@berth/storage-driver';
import { parseS3Parameters, s3DriverFactory, wrapS3Driver, type MultipartUploadAborter } from '@berth/driver-s3';
import { S3Driver } from '../src/driver';
import { s3TestParameters } from '../../../test-support/s3';

export type TestDriver = StorageDriver & MultipartUploadAborter;

/** A wrapped s3 driver on the test server, under a fresh root directory. Call only when s3SkipReason() is undefined. */
export async function createTestDriver(prefix: string, overrides: Record<string, unknown> = {}): Promise<TestDriver> {
  const params = s3TestParameters(prefix, overrides);
  if (!params) throw new Error('no S3 server for the tests (check s3SkipReason() first)');
  return (await s3DriverFactory.create(params, {})) as TestDriver;
}

/** The unwrapped driver (its SDK client can carry middleware that observes requests). */
export function createRawTestDriver(prefix: string, overrides: Record<string, unknown> = {}): { raw: S3Driver; driver: TestDriver } {
  const params = s3TestParameters(prefix, overrides);
  if (!params) throw new Error('no S3 server for the tests (check s3SkipReason() first)');
  const raw = new S3Driver(parseS3Parameters(params));
  return { raw, driver: wrapS3Driver(raw) };
}

/** Removes everything the driver stored under its root (objects and unfinished uploads), then closes it. */
export async function destroyTestDriver(driver: TestDriver): Promise<void> {
  try {
    await driver.abortMultipartUploads(new Date(Date.now() + 3_600_000));
    for (const path of await driver.list('/')) await driver.delete(path);
  } finally {
    await driver.close?.();
  }
}

/** One HTTP request that reached the S3 server through an `S3Recorder`. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly target: string;
  /** Header names in lower case. */
  readonly headers: Record<string, string>;
}

/**
 * A TCP forwarder on loopback between a driver and the S3 server that reads the HTTP request heads
 * going through it (bodies are skipped by their Content-Length). Use `endpoint` as the driver's
 * `regionendpoint`: signatures stay valid, the server checks them against the Host it is sent.
 * Counts every request, the SDK's and those on the driver's own connections alike.
 */
export interface S3Recorder {
  readonly endpoint: string;
  readonly requests: RecordedRequest[];
  /** Client connections open right now. */
  readonly openConnections: () => number;
  close(): Promise<void>;
}

export async function startS3Recorder(target: string): Promise<S3Recorder> {
  const upstream = new URL(target);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    clients.add(client);
    const server = connect(Number(upstream.port) || 80, upstream.hostname);
    sockets.add(server);
    let head = Buffer.alloc(0);
    let bodyLeft = 0;
    client.on('data', (data: Buffer) => {
      let rest = data;
      while (rest.length > 0) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, rest.length);
          bodyLeft -= n;
          rest = rest.subarray(n);
          continue;
        }
        head = Buffer.concat([head, rest]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [line = '', ...lines] = head.subarray(0, end).toString('latin1').split('\r\n');
        const headers: Record<string, string> = {};
        for (const h of lines) headers[h.slice(0, h.indexOf(':')).trim().toLowerCase()] = h.slice(h.indexOf(':') + 1).trim();
        const [method = '', path = ''] = line.split(' ');
        requests.push({ method, target: path, headers });
        bodyLeft = Number(headers['content-length'] ?? 0);
        rest = head.subarray(end + 4);
        head = Buffer.alloc(0);
      }
    });
    client.pipe(server);
    server.pipe(client);
    const done = (): void => {
      client.destroy();
      server.destroy();
    };
    client.on('error', done).on('close', () => (sockets.delete(client), clients.delete(client), done()));
    server.on('error', done).on('close', () => (sockets.delete(server), done()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    openConnections: () => clients.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

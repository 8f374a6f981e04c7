import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PathNotFoundError, type FileInfo, type Logger } from '@berth/storage-driver';
import { s3DriverFactory, type S3Driver } from '@berth/driver-s3';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRawTestDriver, destroyTestDriver, startS3Recorder, type RecordedRequest, type TestDriver } from './helpers';

const MIB = 1024 * 1024;
const skipReason = s3SkipReason();
const describeS3 = skipReason ? describe.skip : describe;
if (skipReason) console.warn(`!!! SKIPPED: s3 driver operation tests: ${skipReason}`);

interface SentRequest {
  command: string;
  headers: Record<string, string>;
}

/** Records the command name and the final HTTP headers of every request the client sends. */
function recordRequests(client: S3Client): SentRequest[] {
  const sent: SentRequest[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
      sent.push({ command: String(context.commandName), headers: { ...headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'berthRecordRequests' },
  );
  return sent;
}

/** A Logger that keeps what it is given. */
function recordingLogger(): Logger & { lines: { level: string; message: string; meta?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
  const record = (level: string) => (message: string, meta?: Record<string, unknown>) => lines.push({ level, message, meta });
  const logger = { lines, error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug'), child: () => logger };
  return logger;
}

async function withDriver(prefix: string, overrides: Record<string, unknown>, body: (raw: S3Driver, driver: TestDriver, sent: SentRequest[]) => Promise<void>): Promise<void> {
  const { raw, driver } = createRawTestDriver(prefix, overrides);
  const sent = recordRequests(raw.client);
  // The driver's own small reads (wire-requests.ts) are requests too.
  raw.ctx.wire.observe((command) => sent.push({ command: `${command}Command`, headers: {} }));
  try {
    await body(raw, driver, sent);
  } finally {
    await destroyTestDriver(driver);
  }
}

/** Resolves once `condition` holds (checked every 20 ms); rejects after 30 s. */
async function until(condition: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 30_000; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`still false after 30 s: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeS3(`s3 driver operations (${skipReason ?? describeS3Server()})`, () => {
  it('moves an object above multipartcopythresholdsize with parallel UploadPartCopy parts, intact', () =>
    withDriver('move', { multipartcopythresholdsize: 5 * MIB, multipartcopychunksize: 5 * MIB, multipartcopymaxconcurrency: 2 }, async (raw, driver, sent) => {
      const content = randomBytes(12 * MIB + 5);
      await driver.putContent('/from/big', content);
      await driver.putContent('/from/small', Buffer.from('small'));
      sent.length = 0;
      await driver.move('/from/big', '/to/big');
      const commands = sent.map((s) => s.command);
      expect(commands.filter((c) => c === 'UploadPartCopyCommand')).toHaveLength(3);
      expect(commands).toContain('CompleteMultipartUploadCommand');
      expect(commands).not.toContain('CopyObjectCommand');
      expect((await driver.getContent('/to/big')).equals(content)).toBe(true);
      await expect(driver.stat('/from/big')).rejects.toBeInstanceOf(PathNotFoundError);
      const head = await raw.client.send(new HeadObjectCommand({ Bucket: raw.ctx.bucket, Key: raw.ctx.key('/to/big') }));
      expect(head.ETag).toMatch(/-3"?$/);

      sent.length = 0;
      await driver.move('/from/small', '/to/small');
      expect(sent.map((s) => s.command)).toContain('CopyObjectCommand');
      expect((await driver.getContent('/to/small')).toString()).toBe('small');

      await driver.move('/to/small', '/to/small');
      expect((await driver.getContent('/to/small')).toString()).toBe('small');
    }), 300_000);

  it('sends a short range with a closed Range header and a long one as an open-ended GET cut at its length, on its own connections, not the SDK', async () => {
    const recorder = await startS3Recorder(String(s3TestParameters('x')?.regionendpoint));
    try {
      await withDriver('send', { regionendpoint: recorder.endpoint }, async (_raw, driver, sent) => {
        const content = randomBytes(20 * MIB + 7);
        await driver.putContent('/blob', content);
        const gets = (): RecordedRequest[] => recorder.requests.filter((r) => r.method === 'GET' && !r.target.includes('list-type'));
        const received = async (offset: number, length: number): Promise<Buffer> => {
          const chunks: Buffer[] = [];
          const sink = new Writable({ write: (chunk: Buffer, _e, done) => void (chunks.push(Buffer.from(chunk)), done()) });
          await driver.sendTo('/blob', offset, length, sink);
          return Buffer.concat(chunks);
        };
        recorder.requests.length = 0;
        sent.length = 0;
        expect((await received(5, 1000)).equals(content.subarray(5, 1005))).toBe(true);
        expect(gets().map((r) => r.headers.range)).toEqual(['bytes=5-1004']);
        recorder.requests.length = 0;
        expect((await received(3, 17 * MIB)).equals(content.subarray(3, 3 + 17 * MIB))).toBe(true);
        expect(gets().map((r) => r.headers.range)).toEqual(['bytes=3-']);
        recorder.requests.length = 0;
        expect((await received(0, content.length)).equals(content)).toBe(true);
        expect(gets().map((r) => r.headers.range)).toEqual([undefined]);
        // Presigned GETs on the driver's connections; the SDK sent no GetObject.
        expect(sent.filter((s) => s.command === 'GetObjectCommand' && s.headers.authorization)).toEqual([]);
      });
    } finally {
      await recorder.close();
    }
  }, 300_000);

  it('closes the connection of a blob read whose HTTP client goes away, and keeps one connection for reads that complete', async () => {
    const recorder = await startS3Recorder(String(s3TestParameters('x')?.regionendpoint));
    const { raw, driver } = createRawTestDriver('abandon', { regionendpoint: recorder.endpoint });
    const content = randomBytes(48 * MIB);
    const server = createServer((_req, res) => {
      res.setHeader('Content-Length', String(content.length));
      driver.sendTo('/blob', 0, content.length, res).then(
        () => res.end(),
        () => res.destroy(),
      );
    });
    try {
      await driver.putContent('/blob', content);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      // Two complete reads: the second reuses the first's connection.
      for (let i = 0; i < 2; i++) {
        const body = Buffer.from(await (await fetch(url)).arrayBuffer());
        expect(body.equals(content)).toBe(true);
      }
      expect(raw.direct.openConnections).toBe(1);
      expect(raw.direct.activeConnections).toBe(0);
      const before = recorder.openConnections();
      // A client that reads the first bytes and goes away: the read's connection (the kept one) is closed.
      await new Promise<void>((resolve, reject) => {
        request(url, (res) => {
          res.once('data', () => {
            res.destroy();
            resolve();
          });
        }).on('error', reject).end();
      });
      await until(() => raw.direct.openConnections === 0);
      await until(() => recorder.openConnections() === before - 1);
    } finally {
      server.close();
      await destroyTestDriver(driver);
      await recorder.close();
    }
  }, 300_000);

  it('presigns GET and HEAD URLs for 20 minutes that Node fetch can use, and that fail when tampered with', () =>
    withDriver('presign', {}, async (_raw, driver) => {
      const content = randomBytes(1000);
      await driver.putContent('/blobs/data', content);
      const getUrl = (await driver.redirectUrl('/blobs/data', 'GET')) as string;
      expect(new URL(getUrl).searchParams.get('X-Amz-Expires')).toBe('1200');
      const got = await fetch(getUrl);
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).equals(content)).toBe(true);
      const ranged = await fetch(getUrl, { headers: { range: 'bytes=10-19' } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(content.subarray(10, 20))).toBe(true);

      const signature = new URL(getUrl).searchParams.get('X-Amz-Signature') as string;
      const flipped = signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');
      const tampered = await fetch(getUrl.replace(signature, flipped));
      expect(tampered.status).toBe(403);
      await tampered.arrayBuffer();
      const otherKey = await fetch(getUrl.replace('/blobs/data', '/blobs/other'));
      expect(otherKey.status).toBe(403);
      await otherKey.arrayBuffer();

      const headUrl = (await driver.redirectUrl('/blobs/data', 'HEAD')) as string;
      const head = await fetch(headUrl, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('1000');
      const wrongMethod = await fetch(headUrl);
      expect(wrongMethod.status).toBe(403);
      await wrongMethod.arrayBuffer();
    }));

  it('sends x-amz-storage-class STANDARD by default and no storage-class header at all for NONE', async () => {
    await withDriver('class-default', {}, async (_raw, driver, sent) => {
      await driver.putContent('/f', Buffer.from('x'));
      const writer = await driver.writer('/w', false);
      await writer.write(Buffer.alloc(6 * MIB));
      await writer.commit();
      const writes = sent.filter((s) => ['PutObjectCommand', 'CreateMultipartUploadCommand'].includes(s.command));
      expect(writes.length).toBeGreaterThanOrEqual(2);
      for (const s of writes) if (!s.headers['x-amz-meta-berth-upload-id']) expect(s.headers['x-amz-storage-class']).toBe('STANDARD');
    });
    await withDriver('class-none', { storageclass: 'NONE' }, async (_raw, driver, sent) => {
      await driver.putContent('/f', Buffer.from('x'));
      const writer = await driver.writer('/w', false);
      await writer.write(Buffer.alloc(6 * MIB));
      await writer.commit();
      expect((await driver.getContent('/f')).toString()).toBe('x');
      expect(sent.length).toBeGreaterThan(0);
      for (const s of sent) expect(s.headers).not.toHaveProperty('x-amz-storage-class');
    });
  });

  it('presigns redirect URLs for redirectendpoint when it is set', () =>
    withDriver('redirect', { redirectendpoint: 'https://downloads.example.com' }, async (_raw, driver) => {
      const url = new URL((await driver.redirectUrl('/blob', 'GET')) as string);
      expect(url.origin).toBe('https://downloads.example.com');
      expect(url.pathname).toMatch(/\/blob$/);
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    }));

  it("sends no x-amz-acl for the default 'private' and the canned ACL otherwise", async () => {
    await withDriver('acl-private', {}, async (_raw, driver, sent) => {
      await driver.putContent('/f', Buffer.from('x'));
      for (const s of sent) expect(s.headers).not.toHaveProperty('x-amz-acl');
    });
    await withDriver('acl-public', { objectacl: 'public-read' }, async (_raw, driver, sent) => {
      await driver.putContent('/f', Buffer.from('x'));
      expect(sent.find((s) => s.command === 'PutObjectCommand')?.headers['x-amz-acl']).toBe('public-read');
    });
  });

  it('deletes /a and everything below it but never /ab, /a-b or /a.b', () =>
    withDriver('delete', {}, async (_raw, driver) => {
      for (const path of ['/d/a', '/d/a/b', '/d/a/c/d', '/d/ab', '/d/a-b', '/d/a.b', '/d/ab/c']) await driver.putContent(path, Buffer.from(path));
      await driver.delete('/d/a');
      expect(await driver.list('/d')).toEqual(['/d/a-b', '/d/a.b', '/d/ab']);
      await expect(driver.getContent('/d/a')).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(driver.stat('/d/a/c')).rejects.toBeInstanceOf(PathNotFoundError);
      expect((await driver.getContent('/d/ab/c')).toString()).toBe('/d/ab/c');
    }));

  it('lists, walks (skipping a directory larger than a page with one jump) and deletes 2100 keys', () =>
    withDriver('paging', {}, async (_raw, driver, sent) => {
      const names = Array.from({ length: 2100 }, (_, i) => `f${String(i).padStart(4, '0')}`);
      for (let i = 0; i < names.length; i += 64) {
        await Promise.all(names.slice(i, i + 64).map((name) => driver.putContent(`/t/a/${name}`, Buffer.from(name))));
      }
      for (const path of ['/t/a-b', '/t/a.b/x', '/t/b/c']) await driver.putContent(path, Buffer.from(path));

      expect(await driver.list('/t/a')).toEqual(names.map((name) => `/t/a/${name}`));

      const full: FileInfo[] = [];
      await driver.walk('/t', (info) => void full.push(info));
      expect(full.map((i) => i.path)).toEqual(['/t/a', ...names.map((n) => `/t/a/${n}`), '/t/a-b', '/t/a.b', '/t/a.b/x', '/t/b', '/t/b/c']);
      expect(full[0].isDir).toBe(true);
      expect(full[1]).toMatchObject({ size: 5, isDir: false });

      sent.length = 0;
      const skipped: string[] = [];
      await driver.walk('/t', (info) => {
        skipped.push(info.path);
        return info.path === '/t/a' ? 'skipdir' : undefined;
      });
      expect(skipped).toEqual(['/t/a', '/t/a-b', '/t/a.b', '/t/a.b/x', '/t/b', '/t/b/c']);
      // One page into /t/a, then one StartAfter request past it, instead of three pages.
      expect(sent.filter((s) => s.command === 'ListObjectsV2Command')).toHaveLength(2);

      sent.length = 0;
      await driver.delete('/t/a');
      expect(sent.filter((s) => s.command === 'DeleteObjectsCommand')).toHaveLength(3);
      expect(await driver.list('/t')).toEqual(['/t/a-b', '/t/a.b', '/t/b']);
    }), 300_000);

  it('stops a walk at once when the callback says stop, even inside a large listing', () =>
    withDriver('stop', {}, async (_raw, driver) => {
      await Promise.all(['/s/a/1', '/s/a/2', '/s/b'].map((p) => driver.putContent(p, Buffer.from('x'))));
      const seen: string[] = [];
      await driver.walk('/', (info) => {
        seen.push(info.path);
        return info.path === '/s/a/1' ? 'stop' : undefined;
      });
      expect(seen).toEqual(['/s', '/s/a', '/s/a/1']);
    }));

  it('signs every request with Signature Version 2 when v4auth is false, and RGW accepts them (put, get, list, move, multipart write, delete)', () =>
    withDriver('sigv2', { v4auth: 'false', chunksize: 5 * MIB }, async (raw, driver) => {
      const authorizations: string[] = [];
      raw.client.middlewareStack.add(
        (next) => async (args) => {
          const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
          authorizations.push(headers['authorization'] ?? '(none)');
          return next(args);
        },
        { step: 'deserialize', name: 'berthRecordSignatures' },
      );
      await driver.putContent('/v2/a', Buffer.from('signed with v2'));
      expect((await driver.getContent('/v2/a')).toString()).toBe('signed with v2');
      const writer = await driver.writer('/v2/big', false);
      await writer.write(randomBytes(6 * MIB));
      await writer.commit();
      await driver.move('/v2/big', '/v2/moved');
      expect(await driver.list('/v2')).toEqual(['/v2/a', '/v2/moved']);
      expect((await driver.stat('/v2/moved')).size).toBe(6 * MIB);
      await driver.delete('/v2');
      expect(authorizations.length).toBeGreaterThan(8);
      for (const authorization of authorizations) expect(authorization).toMatch(/^AWS [^:\s]+:[A-Za-z0-9+/]+=*$/);
    }));

  it('reads blobs on its own connections with Signature Version 2 presigned URLs when v4auth is false, and RGW serves them', async () => {
    const recorder = await startS3Recorder(String(s3TestParameters('x')?.regionendpoint));
    try {
      await withDriver('sigv2-send', { regionendpoint: recorder.endpoint, v4auth: 'false' }, async (_raw, driver, sent) => {
        const content = randomBytes(3 * MIB + 1);
        await driver.putContent('/blob', content);
        recorder.requests.length = 0;
        sent.length = 0;
        const chunks: Buffer[] = [];
        const sink = new Writable({ write: (chunk: Buffer, _e, done) => void (chunks.push(Buffer.from(chunk)), done()) });
        await driver.sendTo('/blob', 0, content.length, sink);
        expect(Buffer.concat(chunks).equals(content)).toBe(true);
        const gets = recorder.requests.filter((r) => r.method === 'GET');
        expect(gets).toHaveLength(1);
        const query = new URL(gets[0]!.target, 'http://store').searchParams;
        expect(query.get('AWSAccessKeyId')).toBeTruthy();
        expect(query.get('Signature')).toBeTruthy();
        expect(query.get('X-Amz-Signature')).toBeNull();
        // Served on the driver's own connection: the SDK sent no GetObject (it would have if the store had declined).
        expect(sent.filter((s) => s.command === 'GetObjectCommand')).toEqual([]);
      });
    } finally {
      await recorder.close();
    }
  }, 300_000);

  it.each([
    ['Signature Version 4', {}],
    ['Signature Version 2', { v4auth: 'false' }],
  ])('reads small objects, stats and lists on its own connections signed with %s, which RGW accepts: the SDK sends none of these requests', (_label, overrides) =>
    withDriver(`wire-${Object.keys(overrides).length}`, overrides, async (raw, driver, sent) => {
      const wire: string[] = [];
      raw.ctx.wire.observe((command) => wire.push(command));
      await driver.putContent('/w/a-b.c_d/link', Buffer.from('sha256:abc'));
      await driver.putContent('/w/x/1', Buffer.from('one'));
      sent.length = 0;
      wire.length = 0;
      expect((await driver.getContent('/w/a-b.c_d/link')).toString()).toBe('sha256:abc');
      await expect(driver.getContent('/w/none')).rejects.toBeInstanceOf(PathNotFoundError);
      expect((await driver.stat('/w/x/1')).size).toBe(3);
      expect((await driver.stat('/w/x')).isDir).toBe(true);
      await expect(driver.stat('/w/nothing')).rejects.toBeInstanceOf(PathNotFoundError);
      expect(await driver.list('/w')).toEqual(['/w/a-b.c_d', '/w/x']);
      // `sent` holds the SDK's commands and (withDriver) the wire's: here only the wire's.
      expect(sent.map((s) => s.command)).toEqual(wire.map((c) => `${c}Command`));
      // Every one of them answered on the wire (a refused signature would have been declined and sent again by the SDK).
      expect(wire).toEqual(['GetObject', 'GetObject', 'HeadObject', 'HeadObject', 'ListObjectsV2', 'HeadObject', 'ListObjectsV2', 'ListObjectsV2']);
    }));

  it('sends reads through the SDK for a while once the store refused one on its own connection (a wrong key costs no second attempt per request)', async () => {
    const { raw, driver } = createRawTestDriver('wire-refused', { secretkey: 'not-the-secret', maxretries: 0 });
    const wire: string[] = [];
    raw.ctx.wire.observe((command) => wire.push(command));
    try {
      await expect(driver.getContent('/a')).rejects.toThrow();
      expect(wire).toEqual(['GetObject']);
      await expect(driver.getContent('/b')).rejects.toThrow();
      await expect(driver.stat('/c')).rejects.toThrow();
      expect(wire).toEqual(['GetObject']);
    } finally {
      await raw.close();
    }
  });

  it('is refused by RGW with a wrong secret key under Signature Version 2 (the signature is checked)', async () => {
    const driver = (await s3DriverFactory.create(s3TestParameters('sigv2-wrong', { v4auth: 'false', secretkey: 'not-the-secret', maxretries: 0 }) ?? {}, {})) as TestDriver;
    try {
      const error = await driver.putContent('/f', Buffer.from('x')).then(
        () => undefined,
        (e: unknown) => e as Error & { cause?: { $metadata?: { httpStatusCode?: number } } },
      );
      expect(error?.cause?.$metadata?.httpStatusCode).toBe(403);
    } finally {
      await driver.close?.();
    }
  });

  it('presigns redirect URLs with Signature Version 2 query parameters when v4auth is false; RGW serves GET and HEAD and refuses a tampered URL', () =>
    withDriver('sigv2-presign', { v4auth: 'false' }, async (_raw, driver) => {
      await driver.putContent('/p/blob', Buffer.from('presigned v2'));
      const url = new URL((await driver.redirectUrl('/p/blob', 'GET')) ?? '');
      expect([...url.searchParams.keys()]).toEqual(expect.arrayContaining(['AWSAccessKeyId', 'Expires', 'Signature']));
      expect(url.searchParams.has('X-Amz-Signature')).toBe(false);
      const got = await fetch(url);
      expect(got.status).toBe(200);
      expect(await got.text()).toBe('presigned v2');
      const head = await fetch(new URL((await driver.redirectUrl('/p/blob', 'HEAD')) ?? ''), { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('12');
      url.searchParams.set('Expires', String(Number(url.searchParams.get('Expires')) + 60));
      expect((await fetch(url)).status).toBe(403);
    }));

  it('routes the SDK log to the driver logger at debug level only when loglevel is not off', async () => {
    for (const [loglevel, expected] of [
      [false, false],
      ['debug', true],
    ] as const) {
      const logger = recordingLogger();
      const driver = (await s3DriverFactory.create(s3TestParameters('loglevel', { loglevel }) ?? {}, { logger })) as TestDriver;
      try {
        await driver.putContent('/f', Buffer.from('x'));
        const put = logger.lines.find((l) => l.message === 's3 sdk' && l.meta?.command === 'PutObjectCommand');
        expect(put !== undefined).toBe(expected);
        if (put) {
          expect(put).toMatchObject({ level: 'debug', meta: { Key: expect.stringMatching(/\/f$/), status: 200 } });
          expect(put.meta).not.toHaveProperty('Body');
        }
      } finally {
        await destroyTestDriver(driver);
      }
    }
  });

  it('rejects every operation on a missing bucket with a StorageDriverError that is not PathNotFoundError', async () => {
    const driver = (await s3DriverFactory.create(s3TestParameters('nobucket', { bucket: `missing-${randomBytes(4).toString('hex')}` }) ?? {}, {})) as TestDriver;
    try {
      const error = await driver.stat('/x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(PathNotFoundError);
      expect((error as Error).message).toContain('s3');
    } finally {
      await driver.close?.();
    }
  });
});

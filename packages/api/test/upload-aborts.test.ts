import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import type { StorageDriver } from '@berth/storage-driver';
import { appOptions, listen, pathOf, testApp } from './support/harness';

/** Descriptors this (jest worker) process holds open now. */
const openDescriptors = (): number => readdirSync('/proc/self/fd').length;

/**
 * A PATCH whose body is shorter than its Content-Length, followed by another request on the same
 * socket (which the parser takes for more body), then a half-close: the server's parser ends the
 * request before its body did. Resolves once the server closed the connection.
 */
function cutPatch(port: number, path: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n${'a'.repeat(100)}`);
      socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
      setTimeout(() => socket.end(), 20);
    });
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

describe('uploads cut short by the HTTP parser (filesystem driver)', () => {
  let root: string;
  let driver: StorageDriver;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-api-aborts-'));
    driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
  });

  afterEach(async () => {
    await driver.close?.();
    await rm(root, { recursive: true, force: true });
  });

  it('closes every session writer and keeps every session answering after PATCHes cut mid-body', async () => {
    const app = testApp(appOptions(driver));
    const server = await listen(app);
    try {
      const sessions: string[] = [];
      for (let i = 0; i < 20; i++) {
        sessions.push(pathOf((await request(app).post('/v2/cut/blobs/uploads/').expect(202)).headers.location));
      }
      const baseline = openDescriptors();
      for (const session of sessions) await cutPatch(server.port, session);
      // Each cut PATCH had opened `_uploads/<id>/data`; none of those handles may stay open.
      const deadline = Date.now() + 10_000;
      while (openDescriptors() > baseline + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(openDescriptors()).toBeLessThanOrEqual(baseline + 2);
      // Every session's lock was released: its status answers (a write left waiting holds it forever).
      for (const session of sessions) await request(app).get(session).timeout(10_000).expect(204);
    } finally {
      await server.close();
    }
  });
});

import http from 'node:http';
import request from 'supertest';
import { EVENTS_MEDIA_TYPE, type Notifier, type WireEvent } from '@berth/notifications';
import { Receiver } from './support/receiver';
import { endpoint, OCI_MANIFEST, pushBlob, pushImage, registryApp, sha256, startNotifier, tempSpool } from './support/registry';

/**
 * Events of real HTTP requests (supertest on createApp, in-memory driver) delivered by the real
 * notifier to a real receiver on 127.0.0.1: what distribution's bridge reports, and in what shape.
 */
describe('registry events delivered to a webhook', () => {
  let receiver: Receiver;
  let notifier: Notifier | undefined;
  let spool: Awaited<ReturnType<typeof tempSpool>>;

  beforeEach(async () => {
    receiver = await Receiver.start();
    spool = await tempSpool();
  });
  afterEach(async () => {
    await notifier?.close();
    notifier = undefined;
    await receiver.stop();
    await spool.cleanup();
  });

  /** Events of the given actions, in arrival order. */
  const only = (events: WireEvent[], ...actions: string[]) => events.filter((e) => actions.includes(e.action));

  it('sends distribution envelopes: POST, the events media type, configured headers, id/timestamp/request/source', async () => {
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url, { headers: { Authorization: ['Bearer token-1'], 'X-Multi': ['a', 'b'] } })]);
    const app = registryApp(notifier);
    const digest = await pushBlob(app, 'library/alpine', 'hello');
    const [event] = await receiver.waitForEvents(1);
    const envelope = receiver.envelopes[0];
    expect(envelope?.method).toBe('POST');
    expect(envelope?.headers['content-type']).toBe(EVENTS_MEDIA_TYPE);
    expect(envelope?.headers.authorization).toBe('Bearer token-1');
    expect(envelope?.headers['x-multi']).toBe('a, b');
    expect(event).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      action: 'push',
      target: {
        mediaType: 'application/octet-stream',
        size: 5,
        digest,
        length: 5,
        repository: 'library/alpine',
        url: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/v2/library/alpine/blobs/${digest}$`)),
      },
      request: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), addr: expect.stringMatching(/^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):\d+$/), host: expect.stringMatching(/^127\.0\.0\.1:\d+$/), method: 'POST', useragent: '' },
      actor: {},
      source: { addr: 'registry.test:5000', instanceID: notifier.instanceId },
    });
  });

  it('reports pushes of chunked uploads and manifests (with the tag when pushed by tag; one event per ?tag=)', async () => {
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url)]);
    const app = registryApp(notifier);
    const started = await request(app).post('/v2/team/app/blobs/uploads/').expect(202);
    const location = new URL(started.headers.location as string);
    const patched = await request(app).patch(`${location.pathname}${location.search}`).set('Content-Type', 'application/octet-stream').send(Buffer.from('chunk-1')).expect(202);
    const next = new URL(patched.headers.location as string);
    await request(app).put(`${next.pathname}${next.search}&digest=${sha256('chunk-1')}`).expect(201);
    const image = await pushImage(app, 'team/app', 'v1');
    await request(app).put(`/v2/team/app/manifests/${image.digest}?tag=x&tag=y`).set('Content-Type', OCI_MANIFEST).send(image.bytes.toString()).expect(201);
    const events = await receiver.waitForEvents(6);
    const pushes = only(events, 'push');
    expect(pushes.map((e) => [e.target.mediaType, e.target.digest, e.target.tag])).toEqual([
      ['application/octet-stream', sha256('chunk-1'), undefined],
      ['application/octet-stream', sha256(image.config), undefined],
      ['application/octet-stream', sha256(image.layer), undefined],
      [OCI_MANIFEST, image.digest, 'v1'],
      [OCI_MANIFEST, image.digest, 'x'],
      [OCI_MANIFEST, image.digest, 'y'],
    ]);
    const manifestPush = pushes[3] as WireEvent;
    expect(manifestPush.target).toMatchObject({ size: image.bytes.length, length: image.bytes.length, repository: 'team/app' });
    expect(manifestPush.target.url).toMatch(new RegExp(`/v2/team/app/manifests/${image.digest}$`));
    expect(manifestPush.target.references).toBeUndefined();
    expect(manifestPush.request.method).toBe('PUT');
  });

  it('reports pulls of manifests and blobs, GET and HEAD, like distribution', async () => {
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url, { ignore: { actions: ['push'] } })]);
    const app = registryApp(notifier);
    const image = await pushImage(app, 'library/nginx', 'latest');
    await request(app).get('/v2/library/nginx/manifests/latest').set('User-Agent', 'docker/27.0').expect(200);
    await request(app).head(`/v2/library/nginx/manifests/${image.digest}`).expect(200);
    await request(app).get(`/v2/library/nginx/blobs/${sha256(image.layer)}`).expect(200);
    await request(app).head(`/v2/library/nginx/blobs/${sha256(image.config)}`).expect(200);
    await request(app).get('/v2/library/nginx/manifests/missing').expect(404);
    const events = await receiver.waitForEvents(4);
    expect(events.map((e) => [e.action, e.request.method, e.target.mediaType, e.target.digest, e.target.tag])).toEqual([
      ['pull', 'GET', OCI_MANIFEST, image.digest, 'latest'],
      ['pull', 'HEAD', OCI_MANIFEST, image.digest, undefined],
      ['pull', 'GET', 'application/octet-stream', sha256(image.layer), undefined],
      ['pull', 'HEAD', 'application/octet-stream', sha256(image.config), undefined],
    ]);
    expect(events[0]?.request.useragent).toBe('docker/27.0');
    await notifier.close();
    expect(notifier.stats().endpoints[0]).toMatchObject({ events: 4, ignored: 3, delivered: 4, pending: 0 });
  });

  it('reports a cross-repository mount with fromRepository', async () => {
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url)]);
    const app = registryApp(notifier);
    const digest = await pushBlob(app, 'source/repo', 'shared layer');
    await request(app).post(`/v2/target/repo/blobs/uploads/?mount=${digest}&from=source/repo`).expect(201);
    const events = await receiver.waitForEvents(2);
    expect(events[1]).toMatchObject({
      action: 'mount',
      target: { mediaType: 'application/octet-stream', digest, size: 12, length: 12, repository: 'target/repo', fromRepository: 'source/repo' },
    });
    expect(events[1]?.target.url).toMatch(new RegExp(`/v2/target/repo/blobs/${digest}$`));
  });

  it('reports deletes with only the repository and the digest, or the tag for a tag delete', async () => {
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url, { ignore: { actions: ['push'] } })]);
    const app = registryApp(notifier);
    const image = await pushImage(app, 'library/redis', 'v7');
    await request(app).delete('/v2/library/redis/manifests/v7').expect(202);
    await request(app).delete(`/v2/library/redis/manifests/${image.digest}`).expect(202);
    await request(app).delete(`/v2/library/redis/blobs/${sha256(image.layer)}`).expect(202);
    await request(app).delete(`/v2/library/redis/blobs/${sha256(image.layer)}`).expect(404);
    const events = await receiver.waitForEvents(3);
    expect(events.map((e) => [e.action, e.request.method, e.target])).toEqual([
      ['delete', 'DELETE', { repository: 'library/redis', tag: 'v7' }],
      ['delete', 'DELETE', { repository: 'library/redis', digest: image.digest }],
      ['delete', 'DELETE', { repository: 'library/redis', digest: sha256(image.layer) }],
    ]);
  });

  it('adds the references of manifests with includereferences', async () => {
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url, { ignoredmediatypes: ['application/octet-stream'] })], { includeReferences: true });
    const app = registryApp(notifier);
    const image = await pushImage(app, 'library/busybox', 'v1');
    await request(app).get('/v2/library/busybox/manifests/v1').expect(200);
    const events = await receiver.waitForEvents(2);
    const references = [
      { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(image.config), size: image.config.length },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(image.layer), size: image.layer.length },
    ];
    expect(events.map((e) => [e.action, e.target.references])).toEqual([
      ['push', references],
      ['pull', references],
    ]);
  });

  it('applies each endpoint its own ignore rules (actions OR media types, both media type keys)', async () => {
    const second = await Receiver.start();
    const third = await Receiver.start();
    try {
      notifier = await startNotifier(spool.dir, [
        endpoint(receiver.url, { name: 'everything' }),
        endpoint(second.url, { name: 'no-pulls-no-blobs', ignore: { actions: ['pull'], mediatypes: ['application/octet-stream'] } }),
        endpoint(third.url, { name: 'legacy-key', ignoredmediatypes: [OCI_MANIFEST] }),
        endpoint('http://127.0.0.1:9/never', { name: 'off', disabled: true }),
      ]);
      const app = registryApp(notifier);
      await pushImage(app, 'a/b', 'v1');
      await request(app).get('/v2/a/b/manifests/v1').expect(200);
      await request(app).delete('/v2/a/b/manifests/v1').expect(202);
      const all = await receiver.waitForEvents(5);
      expect(all.map((e) => e.action)).toEqual(['push', 'push', 'push', 'pull', 'delete']);
      const filtered = await second.waitForEvents(2);
      expect(filtered.map((e) => [e.action, e.target.mediaType])).toEqual([
        ['push', OCI_MANIFEST],
        ['delete', undefined],
      ]);
      const legacy = await third.waitForEvents(3);
      expect(legacy.map((e) => [e.action, e.target.mediaType])).toEqual([
        ['push', 'application/octet-stream'],
        ['push', 'application/octet-stream'],
        ['delete', undefined],
      ]);
      // The same event carries the same id to every endpoint.
      expect(filtered[0]?.id).toBe(all[2]?.id);
      expect(notifier.stats().endpoints.map((e) => e.name)).toEqual(['everything', 'no-pulls-no-blobs', 'legacy-key']);
    } finally {
      await second.stop();
      await third.stop();
    }
  });

  it('names the authenticated user as the actor (res.locals.user, as the auth middleware sets it)', async () => {
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url)]);
    const app = registryApp(notifier);
    // What an authentication middleware in front of the API leaves for it.
    const server = http.createServer((req, res) => {
      (res as typeof res & { locals: unknown }).locals = { user: 'alice' };
      void app(req, res);
    });
    await request(server).post(`/v2/x/y/blobs/uploads/?digest=${sha256('by alice')}`).send(Buffer.from('by alice')).expect(201);
    const [event] = await receiver.waitForEvents(1);
    expect(event?.actor).toEqual({ name: 'alice' });
  });

  it('takes the client address from X-Forwarded-For, then X-Real-Ip', async () => {
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url)]);
    const app = registryApp(notifier);
    const digest = await pushBlob(app, 'x/y', 'blob');
    await request(app).head(`/v2/x/y/blobs/${digest}`).set('X-Forwarded-For', '203.0.113.7, 10.0.0.1').expect(200);
    await request(app).head(`/v2/x/y/blobs/${digest}`).set('X-Real-Ip', '198.51.100.2').expect(200);
    await request(app).head(`/v2/x/y/blobs/${digest}`).set('X-Forwarded-For', 'not-an-ip').set('Host', 'registry.example.com').expect(200);
    const events = await receiver.waitForEvents(4);
    expect(events.slice(1).map((e) => e.request.addr)).toEqual(['203.0.113.7', '198.51.100.2', expect.stringMatching(/127\.0\.0\.1\]?:\d+$/)]);
    expect(events[3]?.request.host).toBe('registry.example.com');
  });
});

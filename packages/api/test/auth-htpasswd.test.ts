import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import express from 'express';
import request from 'supertest';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { silentLogger } from '@berth/logging';
import { createAuthenticator, AuthSetupError } from '@berth/api';
import { HtpasswdAuthenticator } from '../src/auth/htpasswd';
import { appOptions, testApp, imageManifest, pushBlob, putManifest } from './support/harness';

/** `auth.htpasswd` over real HTTP with real bcrypt hashes in a real file. */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-htpasswd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An htpasswd line as `htpasswd -B` writes it (`$2y$`). */
function line(user: string, password: string, cost = 5): string {
  return `${user}:${bcrypt.hashSync(password, cost).replace(/^\$2[ab]\$/, '$2y$')}`;
}

async function htpasswd(lines: string[], name = `htpasswd-${Math.random()}`): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const CHALLENGE = 'Basic realm="berth test realm"';

function app(path: string, anonymousPull = false, driver = createInMemoryDriver()): express.Express {
  return testApp(appOptions(driver, { auth: createAuthenticator({ type: 'htpasswd', realm: 'berth test realm', path, anonymousPull }) }));
}

describe('htpasswd authentication', () => {
  it('serves a user with the right password and challenges a wrong password, an unknown user and no credentials', async () => {
    const registry = app(await htpasswd([line('alice', 'right horse'), line('bob', 'battery staple')]));
    await request(registry).get('/v2/').set('Authorization', basic('alice', 'right horse')).expect(200);
    await request(registry).get('/v2/app/tags/list').set('Authorization', basic('bob', 'battery staple')).expect(404);
    for (const auth of [basic('alice', 'wrong'), basic('mallory', 'right horse'), undefined, 'Basic !!!', basic('', '')]) {
      const req = request(registry).post('/v2/app/blobs/uploads/');
      const res = await (auth ? req.set('Authorization', auth) : req).expect(401);
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      expect(res.body.errors[0]).toMatchObject({ code: 'UNAUTHORIZED', message: 'authentication required' });
    }
  });

  it('ignores lines without a bcrypt hash, with a warning that names the line but not the hash', async () => {
    const path = await htpasswd(['# comment', '', line('alice', 'pw'), 'md5user:$apr1$abcdefgh$0123456789abcdefghijkl', 'shauser:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'nocolon']);
    const auth = createAuthenticator({ type: 'htpasswd', realm: 'r', path });
    expect(auth.warnings).toEqual([
      `${path}:4: user "md5user" does not have a bcrypt hash (only bcrypt is supported, htpasswd -B); ignored`,
      `${path}:5: user "shauser" does not have a bcrypt hash (only bcrypt is supported, htpasswd -B); ignored`,
      `${path}:6: not a user:hash line; ignored`,
    ]);
    const registry = testApp(appOptions(createInMemoryDriver(), { auth }));
    await request(registry).get('/v2/').set('Authorization', basic('alice', 'pw')).expect(200);
    await request(registry).get('/v2/').set('Authorization', basic('shauser', 'password')).expect(401);
  });

  it('follows changes to the file without a restart: a new user, a changed password, a removed user, a replaced file', async () => {
    const path = await htpasswd([line('alice', 'first')]);
    const registry = app(path);
    await request(registry).get('/v2/').set('Authorization', basic('alice', 'first')).expect(200);
    await request(registry).get('/v2/').set('Authorization', basic('carol', 'new')).expect(401);
    await writeFile(path, `${line('alice', 'second')}\n${line('carol', 'new')}\n`);
    await request(registry).get('/v2/').set('Authorization', basic('carol', 'new')).expect(200);
    // alice's first password was verified (and remembered) a moment ago: the new hash wins.
    await request(registry).get('/v2/').set('Authorization', basic('alice', 'first')).expect(401);
    await request(registry).get('/v2/').set('Authorization', basic('alice', 'second')).expect(200);
    const replacement = `${path}.new`;
    await writeFile(replacement, `${line('dave', 'replaced')}\n`);
    await rename(replacement, path);
    await request(registry).get('/v2/').set('Authorization', basic('dave', 'replaced')).expect(200);
    await request(registry).get('/v2/').set('Authorization', basic('carol', 'new')).expect(401);
  });

  it('keeps the users it has when the file disappears, and refuses to start without the file', async () => {
    const path = await htpasswd([line('alice', 'pw')]);
    const registry = app(path);
    await rm(path);
    await request(registry).get('/v2/').set('Authorization', basic('alice', 'pw')).expect(200);
    expect(() => createAuthenticator({ type: 'htpasswd', realm: 'r', path: join(dir, 'missing') })).toThrow(AuthSetupError);
    try {
      createAuthenticator({ type: 'htpasswd', realm: 'r', path: join(dir, 'missing') });
    } catch (error) {
      expect(error).toMatchObject({ key: 'auth.htpasswd.path', message: expect.stringMatching(/no such file.*htpasswd -cB/) });
    }
  });

  // bcrypt.compare is watched (it still runs): which comparisons happen says what each request costs.
  function watchBcrypt(): jest.SpiedFunction<typeof bcrypt.compare> {
    return jest.spyOn(bcrypt, 'compare');
  }
  afterEach(() => jest.restoreAllMocks());

  it('verifies a password once for a burst of requests (sequential and concurrent), and never remembers a wrong one', async () => {
    const logger = silentLogger();
    const auth = new HtpasswdAuthenticator({ type: 'htpasswd', realm: 'r', path: await htpasswd([line('alice', 'pw', 10)]) });
    const compare = watchBcrypt();
    expect(await auth.verify('alice', 'pw', logger)).toBe(true);
    for (let i = 0; i < 20; i++) expect(await auth.verify('alice', 'pw', logger)).toBe(true);
    expect(compare).toHaveBeenCalledTimes(1);

    const fresh = new HtpasswdAuthenticator({ type: 'htpasswd', realm: 'r', path: await htpasswd([line('alice', 'pw', 10)]) });
    compare.mockClear();
    expect(await Promise.all(Array.from({ length: 20 }, () => fresh.verify('alice', 'pw', logger)))).toEqual(Array(20).fill(true));
    expect(compare).toHaveBeenCalledTimes(1);

    compare.mockClear();
    for (let i = 0; i < 3; i++) expect(await auth.verify('alice', 'wrong', logger)).toBe(false);
    expect(compare).toHaveBeenCalledTimes(3);
  });

  it('compares an unknown user with a dummy hash of the cost the file uses, like a known one', async () => {
    const logger = silentLogger();
    const auth = new HtpasswdAuthenticator({ type: 'htpasswd', realm: 'r', path: await htpasswd([line('alice', 'pw', 10), line('bob', 'pw', 10), line('old', 'pw', 6)]) });
    const compare = watchBcrypt();
    expect(await auth.verify('nobody', 'guess', logger)).toBe(false);
    expect(await auth.verify('nobody', 'guess', logger)).toBe(false);
    expect(compare).toHaveBeenCalledTimes(2);
    expect(compare).toHaveBeenLastCalledWith('guess', expect.stringMatching(/^\$2[aby]\$10\$/));
    const started = performance.now();
    await auth.verify('nobody', 'again', logger);
    // A full cost-10 bcrypt, not distribution's immediate return (which takes microseconds).
    expect(performance.now() - started).toBeGreaterThan(10);
  });

  it('puts the user name in res.locals.user', async () => {
    const users: unknown[] = [];
    const outer = express();
    outer.use((_req, res, next) => {
      res.on('finish', () => users.push(res.locals.user));
      next();
    });
    outer.use(app(await htpasswd([line('alice', 'pw')])));
    await request(outer).get('/v2/').set('Authorization', basic('alice', 'pw')).expect(200);
    expect(users).toEqual(['alice']);
  });

  it('with anonymouspull serves pulls and the catalog without credentials, and needs them for /v2/, pushes and deletes', async () => {
    const driver = createInMemoryDriver();
    const open = testApp(appOptions(driver));
    const digest = await pushBlob(open, 'public', 'open');
    await putManifest(open, 'public', 'v1', await imageManifest(open, 'public'));
    const registry = app(await htpasswd([line('alice', 'pw')]), true, driver);
    await request(registry).get('/v2/public/manifests/v1').expect(200);
    await request(registry).get(`/v2/public/blobs/${digest}`).expect(200);
    await request(registry).head(`/v2/public/blobs/${digest}`).set('Authorization', basic('', '')).expect(200);
    expect((await request(registry).get('/v2/_catalog').expect(200)).body).toEqual({ repositories: ['public'] });
    for (const refused of [request(registry).get('/v2/'), request(registry).post('/v2/public/blobs/uploads/'), request(registry).delete(`/v2/public/blobs/${digest}`)]) {
      expect((await refused.expect(401)).headers['www-authenticate']).toBe(CHALLENGE);
    }
    // Wrong credentials are refused even for a pull, rather than quietly served as anonymous.
    await request(registry).get(`/v2/public/blobs/${digest}`).set('Authorization', basic('alice', 'wrong')).expect(401);
    await request(registry).post('/v2/public/blobs/uploads/').set('Authorization', basic('alice', 'pw')).expect(202);
  });

  it('serves the storage usage to any authenticated user and challenges a request without credentials', async () => {
    const registry = app(await htpasswd([line('alice', 'pw')]));
    expect((await request(registry).get('/v2/_berth/usage').expect(401)).headers['www-authenticate']).toBe(CHALLENGE);
    const res = await request(registry).get('/v2/_berth/usage').set('Authorization', basic('alice', 'pw')).expect(200);
    expect(res.body.total).toEqual({ repositories: 0, bytes: 0, tags: 0, manifests: 0 });
  });

  it('leaves paths outside the API and methods no route answers to the rest of the app', async () => {
    const registry = app(await htpasswd([line('alice', 'pw')]));
    await request(registry).get('/elsewhere').expect(404);
    const options = await request(registry).options('/v2/app/manifests/v1').expect(405);
    expect(options.body.errors[0].code).toBe('UNSUPPORTED');
    // An unknown API route is a 404 only for someone with credentials.
    await request(registry).get('/v2/app/nothing/here').expect(401);
    await request(registry).get('/v2/app/nothing/here').set('Authorization', basic('alice', 'pw')).expect(404);
  });

  it('checks the API under http.prefix, and leaves the unprefixed paths alone', async () => {
    const path = await htpasswd([line('alice', 'pw')]);
    const registry = testApp(appOptions(createInMemoryDriver(), { prefix: '/reg/', auth: createAuthenticator({ type: 'htpasswd', realm: 'r', path }) }));
    expect((await request(registry).get('/reg/v2/').expect(401)).headers['www-authenticate']).toBe('Basic realm="r"');
    await request(registry).post('/reg/v2/app/blobs/uploads/').expect(401);
    await request(registry).post('/reg/v2/app/blobs/uploads/').set('Authorization', basic('alice', 'pw')).expect(202);
    await request(registry).get('/v2/').expect(404);
  });
});

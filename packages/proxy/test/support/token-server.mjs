// A token server in distribution's token spec for the pull-through cache tests, signing with jose
// (ESM-only, hence a separate process). Run as `node token-server.mjs <config.json>`; prints
// `token server listening on <port>`. The config:
//   { issuer, service, kid, privateKeyPem (PKCS#8, Ed25519), expiresIn (seconds),
//     users: { <user>: { password, actions: ["pull", "push"] } }, anonymous: [<repository names pullable without credentials>] }
// GET /token?service=&scope=…  grants, per asked repository scope, the actions the caller holds;
//   wrong Basic credentials answer 401.
// GET /requests  the token requests so far: [{ user, scopes }].
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { SignJWT, importPKCS8 } from 'jose';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const key = await importPKCS8(config.privateKeyPem, 'EdDSA');
const requests = [];

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** `repository:<name>:<actions>`; the name may hold colons. */
function parseScope(scope) {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',') };
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://token.invalid');
  if (url.pathname === '/requests') return send(res, 200, requests);
  if (url.pathname !== '/token') return send(res, 404, {});
  let user = '';
  let held = [];
  const header = req.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const [name, password] = Buffer.from(header.slice(6), 'base64').toString().split(/:(.*)/s);
    const account = config.users[name];
    if (!account || account.password !== password) return send(res, 401, { details: 'wrong credentials' });
    user = name;
    held = account.actions;
  }
  const scopes = url.searchParams.getAll('scope');
  requests.push({ user, scopes });
  const access = scopes
    .map(parseScope)
    .filter((s) => s && s.type === 'repository')
    .map((s) => {
      const actions = user ? s.actions.filter((a) => held.includes(a)) : (config.anonymous ?? []).includes(s.name) ? s.actions.filter((a) => a === 'pull') : [];
      return { type: 'repository', name: s.name, actions };
    })
    .filter((a) => a.actions.length > 0);
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ access })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: config.kid })
    .setIssuer(config.issuer)
    .setSubject(user)
    .setAudience(url.searchParams.get('service') ?? config.service)
    .setIssuedAt(now)
    .setNotBefore(now - 1)
    .setExpirationTime(now + 300)
    .setJti(String(Math.random()))
    .sign(key);
  send(res, 200, { token, expires_in: config.expiresIn, issued_at: new Date(now * 1000).toISOString() });
});

server.listen(0, '127.0.0.1', () => process.stdout.write(`token server listening on ${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

// A token server for the tests, in distribution's token spec, signing with jose (an implementation
// independent of Berth's verifier). Run as `node token-server.mjs <config.json>`; prints
// `token server listening on <port>`. The config:
//   { issuer, service, signers: { <name>: { alg, key: <PKCS#8 PEM | JWK>, kid?, kidFromThumbprint?, x5c?: [base64 DER…], jwk? } },
//     signer: <name used by GET /token>, users: { <user>: { password, grants: [{type, name, actions}] } },
//     anonymous: [{type, name, actions}] }
// GET /token?service=&scope=…  (docker's token flow: Basic credentials optional; grants the asked
//   scopes the user holds; `name: "*"` in a grant matches any repository)
// POST /sign {signer, header?, claims}  (signs exactly these claims: for expired, wrong-audience… tokens)
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { SignJWT, calculateJwkThumbprint, exportJWK, importJWK, importPKCS8 } from 'jose';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const signers = {};
for (const [name, s] of Object.entries(config.signers)) {
  const key = typeof s.key === 'string' ? await importPKCS8(s.key, s.alg, { extractable: true }) : await importJWK(s.key, s.alg);
  const header = { alg: s.alg, typ: 'JWT' };
  if (s.x5c) header.x5c = s.x5c;
  if (s.kid) header.kid = s.kid;
  if (s.kidFromThumbprint || s.jwk) {
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = typeof s.key === 'string' ? await exportJWK(key) : s.key;
    if (s.kidFromThumbprint) header.kid = await calculateJwkThumbprint(publicJwk);
    if (s.jwk) header.jwk = publicJwk;
  }
  signers[name] = { key, header };
}

async function sign(signerName, claims, extraHeader = {}) {
  const signer = signers[signerName];
  if (!signer) throw new Error(`no signer ${signerName}`);
  return new SignJWT(claims).setProtectedHeader({ ...signer.header, ...extraHeader }).sign(signer.key);
}

/** `repository:name:pull,push` → {type, name, actions}; the name may hold colons (host:port/x). */
function parseScope(scope) {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',') };
}

function grantedFor(grants, asked) {
  const actions = new Set();
  for (const g of grants) {
    if (g.type === asked.type && (g.name === asked.name || g.name === '*')) for (const a of g.actions) if (asked.actions.includes(a) || a === '*') actions.add(a);
  }
  return { type: asked.type, name: asked.name, actions: [...actions] };
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://token.invalid');
    if (req.method === 'GET' && url.pathname === '/token') {
      let grants = config.anonymous ?? [];
      let subject = '';
      const header = req.headers.authorization;
      if (header?.startsWith('Basic ')) {
        const [user, password] = Buffer.from(header.slice(6), 'base64').toString().split(/:(.*)/s);
        const account = config.users?.[user];
        if (!account || account.password !== password) return send(res, 401, { details: 'wrong credentials' });
        grants = account.grants;
        subject = user;
      }
      const access = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).map(parseScope).filter(Boolean).map((asked) => grantedFor(grants, asked)).filter((a) => a.actions.length > 0);
      const now = Math.floor(Date.now() / 1000);
      const token = await sign(config.signer, { iss: config.issuer, sub: subject, aud: url.searchParams.get('service') ?? config.service, exp: now + 300, nbf: now - 1, iat: now, jti: String(Math.random()), access });
      return send(res, 200, { token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() });
    }
    if (req.method === 'POST' && url.pathname === '/sign') {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const { signer, header, claims } = JSON.parse(Buffer.concat(chunks).toString());
      return send(res, 200, { token: await sign(signer, claims, header) });
    }
    send(res, 404, { error: 'no such endpoint' });
  } catch (error) {
    send(res, 500, { error: String(error) });
  }
});
server.listen(0, '127.0.0.1', () => console.log(`token server listening on ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

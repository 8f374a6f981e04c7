import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, run, spawnTracked, stopProcess, type Spawned } from '../../../cli/test/helpers/processes';

/**
 * The trust material of the token tests, made for real: an openssl PKI (root CA → intermediate CA →
 * leaf, all EC P-256; an unrelated CA with its own leaf), an RSA, an Ed25519 and an HMAC key in a
 * JWKS file, and a token server (auth-support/token-server.mjs, signing with jose) that holds the
 * private keys. Berth gets only `bundle` (the root certificate) and `jwks` (public keys, the HMAC secret).
 */

export const OPENSSL = '/usr/bin/openssl';
export const ISSUER = 'berth-test-issuer';
export const SERVICE = 'berth-test-registry';

/** The ways the token server can sign, by name (see `startTokenServer`). */
export type SignerName =
  | 'x5c'
  | 'x5c-untrusted'
  | 'x5c-expired'
  | 'x5c-rogue'
  | 'rsa-kid'
  | 'ps-kid'
  | 'ed-kid'
  | 'hmac-kid'
  | 'root-thumbprint'
  | 'root-libtrust'
  | 'jwk-embedded'
  | 'impostor';

export interface TokenFixture {
  readonly dir: string;
  /** PEM bundle with the root CA only (`rootcertbundle`). */
  readonly bundle: string;
  /** JWKS with `rsa-1`, `ed-1` and `hmac-1` (`jwks`). */
  readonly jwks: string;
  /** The root CA's public key, for key-ID computations. */
  readonly rootCert: X509Certificate;
  /** Where the token server's config goes (written by `startTokenServer`). */
  readonly signers: Record<SignerName, Record<string, unknown>>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run(OPENSSL, args, { cwd: dir });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A CA-signed certificate: key `<name>.key`, certificate `<name>.pem`, with `ext` as its extensions. */
async function issue(dir: string, name: string, ca: string, ext: string, days = '2'): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=berth test ${name}`]);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', days, '-extfile', `${name}.ext`]);
}

async function derBase64(path: string): Promise<string> {
  return new X509Certificate(await readFile(path)).raw.toString('base64');
}

const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
const LEAF_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n';

/** Makes every key and certificate, the bundle and the JWKS file. */
export async function makeTokenFixture(libtrustKid: (cert: X509Certificate) => string): Promise<TokenFixture> {
  const dir = await makeTempDir('token-pki');
  const p = (name: string): string => join(dir, name);
  for (const root of ['root', 'other-root']) {
    await openssl(dir, ['req', '-x509', ...EC, '-keyout', `${root}.key`, '-out', `${root}.pem`, '-days', '2', '-subj', `/CN=berth test ${root}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }
  await issue(dir, 'intermediate', 'root', CA_EXT);
  await issue(dir, 'leaf', 'intermediate', LEAF_EXT);
  await issue(dir, 'expired-leaf', 'intermediate', LEAF_EXT, '-1');
  await issue(dir, 'other-leaf', 'other-root', LEAF_EXT);
  // Issued by the leaf, which is no CA: a chain through it must not be trusted.
  await issue(dir, 'rogue', 'leaf', LEAF_EXT);

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const hmac = randomBytes(32).toString('base64url');
  const pkcs8 = (key: import('node:crypto').KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }) as string;
  await writeFile(
    p('jwks.json'),
    JSON.stringify({
      keys: [
        { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', use: 'sig' },
        { ...ed.publicKey.export({ format: 'jwk' }), kid: 'ed-1', use: 'sig' },
        { kty: 'oct', k: hmac, kid: 'hmac-1' },
      ],
    }),
  );
  const rootCert = new X509Certificate(await readFile(p('root.pem')));
  const [leaf, intermediate, expired, otherLeaf, otherRoot, rogue] = await Promise.all(
    ['leaf', 'intermediate', 'expired-leaf', 'other-leaf', 'other-root', 'rogue'].map((n) => derBase64(p(`${n}.pem`))),
  );
  const key = async (name: string): Promise<string> => readFile(p(`${name}.key`), 'utf8');
  const signers: Record<SignerName, Record<string, unknown>> = {
    x5c: { alg: 'ES256', key: await key('leaf'), x5c: [leaf, intermediate] },
    'x5c-untrusted': { alg: 'ES256', key: await key('other-leaf'), x5c: [otherLeaf, otherRoot] },
    'x5c-expired': { alg: 'ES256', key: await key('expired-leaf'), x5c: [expired, intermediate] },
    'x5c-rogue': { alg: 'ES256', key: await key('rogue'), x5c: [rogue, leaf, intermediate] },
    'rsa-kid': { alg: 'RS256', key: pkcs8(rsa.privateKey), kid: 'rsa-1' },
    'ps-kid': { alg: 'PS256', key: pkcs8(rsa.privateKey), kid: 'rsa-1' },
    'ed-kid': { alg: 'EdDSA', key: pkcs8(ed.privateKey), kid: 'ed-1' },
    'hmac-kid': { alg: 'HS256', key: { kty: 'oct', k: hmac }, kid: 'hmac-1' },
    'root-thumbprint': { alg: 'ES256', key: await key('root'), kidFromThumbprint: true },
    'root-libtrust': { alg: 'ES256', key: await key('root'), kid: libtrustKid(rootCert) },
    'jwk-embedded': { alg: 'RS256', key: pkcs8(rsa.privateKey), jwk: true },
    impostor: { alg: 'RS256', key: pkcs8(impostor.privateKey), kid: 'rsa-1' },
  };
  return { dir, bundle: p('root.pem'), jwks: p('jwks.json'), rootCert, signers };
}

/** One grant of the `access` claim. */
export interface Grant {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

export interface TokenServer {
  readonly url: string;
  /** The realm clients are sent to (`GET <realm>?service=&scope=`). */
  readonly realm: string;
  /** A token with exactly `claims` (defaults: our issuer and service, valid for 5 minutes, no access). */
  sign(signer: SignerName, claims?: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

/** Claims valid now, for `access`. */
export function claims(access: readonly Grant[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, sub: 'alice', aud: SERVICE, exp: now + 300, nbf: now - 1, iat: now, jti: `${now}-${Math.random()}`, access, ...overrides };
}

/** Starts auth-support/token-server.mjs with the fixture's signers, `signer` for GET /token, and these users. */
export async function startTokenServer(
  fixture: TokenFixture,
  options: { signer?: SignerName; users?: Record<string, { password: string; grants: readonly Grant[] }>; anonymous?: readonly Grant[] } = {},
): Promise<TokenServer> {
  const configPath = join(fixture.dir, `token-server-${Date.now()}-${Math.random()}.json`);
  await writeFile(
    configPath,
    JSON.stringify({ issuer: ISSUER, service: SERVICE, signers: fixture.signers, signer: options.signer ?? 'x5c', users: options.users ?? {}, anonymous: options.anonymous ?? [] }),
  );
  const spawned: Spawned = spawnTracked(process.execPath, [join(__dirname, 'token-server.mjs'), configPath], { env: { PATH: process.env.PATH ?? '' } });
  const [, port] = await spawned.waitForOutput(/token server listening on (\d+)/, 20_000);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    realm: `${url}/token`,
    async sign(signer, body = claims([])) {
      const res = await fetch(`${url}/sign`, { method: 'POST', body: JSON.stringify({ signer, claims: body }) });
      if (res.status !== 200) throw new Error(`token server: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async stop() {
      await stopProcess(spawned, 'SIGTERM');
    },
  };
}

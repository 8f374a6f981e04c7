import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { startBerth, testConfig, type RunningBerth } from './helpers/berth';
import { cleanupAll, makeTempDir, run } from './helpers/processes';

/** `http.tls`: HTTPS with a certificate and key, and client certificates checked against clientcas. */

const OPENSSL = '/usr/bin/openssl';
const describeTls = existsSync(OPENSSL) ? describe : describe.skip;
if (!existsSync(OPENSSL)) console.warn(`SKIPPED berth serve over TLS: ${OPENSSL} is not installed`);

interface Pki {
  dir: string;
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
}

/** A throw-away CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
async function makePki(): Promise<Pki> {
  const dir = await makeTempDir('pki');
  const p = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(OPENSSL, ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=berth test CA']);
  await writeFile(p('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await writeFile(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const name of ['server', 'client']) {
    await run(OPENSSL, ['req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=berth test ${name}`]);
    await run(OPENSSL, [
      'x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-out', p(`${name}.pem`), '-days', '2', '-extfile', p(`${name}.ext`),
    ]);
  }
  return {
    dir,
    ca: p('ca.pem'),
    server: { cert: p('server.pem'), key: p('server.key') },
    client: { cert: p('client.pem'), key: p('client.key') },
  };
}

/** GET /v2/ over HTTPS trusting `ca`, optionally presenting a client certificate. */
async function getV2(berth: RunningBerth, ca: string, client?: { cert: string; key: string }): Promise<number> {
  const [caPem, cert, key] = await Promise.all([readFile(ca), client && readFile(client.cert), client && readFile(client.key)]);
  const [host, port] = berth.hostPort.split(':');
  return new Promise((resolve, reject) => {
    request({ host, port: Number(port), path: '/v2/', ca: caPem, cert, key, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

describeTls('berth serve over TLS', () => {
  let pki: Pki;

  beforeAll(async () => {
    pki = await makePki();
  });

  afterAll(cleanupAll);

  it('serves HTTPS with http.tls.certificate and key, and nothing over plain HTTP', async () => {
    const berth = await startBerth(testConfig({ inmemory: {} }, { tls: { certificate: pki.server.cert, key: pki.server.key } }));
    try {
      expect(await getV2(berth, pki.ca)).toBe(200);
      await expect(fetch(`http://${berth.hostPort}/v2/`)).rejects.toThrow();
    } finally {
      expect(await berth.stop()).toEqual({ code: 0, signal: null });
    }
  });

  it('requires a client certificate signed by http.tls.clientcas by default', async () => {
    const berth = await startBerth(
      testConfig({ inmemory: {} }, { tls: { certificate: pki.server.cert, key: pki.server.key, clientcas: [pki.ca] } }),
    );
    try {
      expect(await getV2(berth, pki.ca, pki.client)).toBe(200);
      await expect(getV2(berth, pki.ca)).rejects.toThrow();
      // A certificate the CA did not sign: the server's own key pair, self-presented.
      const selfSigned = await makeTempDir('self');
      const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
      await run(OPENSSL, ['req', '-x509', ...ec, '-keyout', join(selfSigned, 'k'), '-out', join(selfSigned, 'c'), '-days', '1', '-subj', '/CN=stranger']);
      await expect(getV2(berth, pki.ca, { cert: join(selfSigned, 'c'), key: join(selfSigned, 'k') })).rejects.toThrow();
    } finally {
      expect(await berth.stop()).toEqual({ code: 0, signal: null });
    }
  });

  it('accepts a connection without a client certificate with clientauth verify-client-cert-if-given', async () => {
    const berth = await startBerth(
      testConfig(
        { inmemory: {} },
        { tls: { certificate: pki.server.cert, key: pki.server.key, clientcas: [pki.ca], clientauth: 'verify-client-cert-if-given' } },
      ),
    );
    try {
      expect(await getV2(berth, pki.ca)).toBe(200);
      expect(await getV2(berth, pki.ca, pki.client)).toBe(200);
    } finally {
      expect(await berth.stop()).toEqual({ code: 0, signal: null });
    }
  });

  it('refuses to start when the key file cannot be read, naming the key', async () => {
    const berth = startBerth(testConfig({ inmemory: {} }, { tls: { certificate: pki.server.cert, key: join(pki.dir, 'missing.key') } }));
    await expect(berth).rejects.toThrow(/berth: http\.tls\.key: cannot read .*missing\.key: no such file$/m);
  });
});

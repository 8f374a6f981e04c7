import { redactConfig, REDACTED } from '@berth/config';
import { load, testDrivers } from './helpers';

const SECRETS = ['s3-secret-key-value', 'http-secret-value', 'proxy-password-value', 'Bearer notification-token', 'redis-password-value', 'smtp-password-value', 'mw-token-value', 'field-password-value', 'field-authorization-value'];

const YAML = `version: 0.1
log:
  fields:
    service: registry
    db_password: field-password-value
    upstream_authorization: field-authorization-value
  hooks:
    - type: mail
      options:
        smtp:
          addr: mail:25
          password: smtp-password-value
storage:
  s3:
    bucket: registry
    accesskey: AKIAEXAMPLE
    secretkey: s3-secret-key-value
http:
  secret: http-secret-value
  headers:
    X-Content-Type-Options: [nosniff]
proxy:
  remoteurl: https://registry-1.docker.io
  username: mirror-user
  password: proxy-password-value
notifications:
  endpoints:
    - name: listener
      url: https://listener/events
      headers:
        Authorization: [Bearer notification-token]
redis:
  addrs: [redis:6379]
  password: redis-password-value
middleware:
  storage:
    - name: cloudfront
      options:
        baseurl: https://cdn/
        token: mw-token-value
`;

describe('redactConfig', () => {
  const drivers = testDrivers();
  const config = load(YAML);
  const redacted = redactConfig(config, drivers) as typeof config;
  const text = JSON.stringify(redacted);

  it('replaces every secret by <redacted>', () => {
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(redacted.storage.parameters).toEqual({ bucket: 'registry', accesskey: 'AKIAEXAMPLE', secretkey: REDACTED });
    expect(redacted.http.secret).toBe(REDACTED);
    expect(redacted.proxy).toMatchObject({ username: 'mirror-user', password: REDACTED });
    expect(redacted.notifications.endpoints[0]?.headers).toEqual({ Authorization: [REDACTED] });
    expect(redacted.redis).toMatchObject({ addrs: ['redis:6379'], password: REDACTED });
    // The same names the logger redacts in its fields (@berth/logging's SECRET_LOOKING_KEY).
    expect(redacted.log.fields).toEqual({ service: 'registry', db_password: REDACTED, upstream_authorization: REDACTED });
    expect(redacted.middleware).toEqual({ storage: [{ name: 'cloudfront', disabled: false, options: { baseurl: 'https://cdn/', token: REDACTED } }] });
  });

  it('keeps everything else, including response headers and unset secrets', () => {
    expect(redacted.http.headers).toEqual({ 'X-Content-Type-Options': ['nosniff'] });
    const plain = load('version: 0.1\nstorage: inmemory\nhttp:\n  secret: x1\n');
    expect((redactConfig(plain, drivers) as typeof plain).proxy.password).toBe('');
  });

  it('does not modify the (frozen) configuration', () => {
    expect(config.http.secret).toBe('http-secret-value');
    expect(config.storage.parameters.secretkey).toBe('s3-secret-key-value');
  });

  it('redacts the generated http.secret too', () => {
    const generated = load('version: 0.1\nstorage: inmemory\n');
    expect((redactConfig(generated, drivers) as typeof generated).http.secret).toBe(REDACTED);
  });
});

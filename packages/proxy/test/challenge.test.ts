import { parseChallenges } from '@berth/proxy';

describe('WWW-Authenticate parsing', () => {
  it("reads Docker Hub's Bearer challenge with quoted realm, service and scope", () => {
    expect(
      parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'),
    ).toEqual([{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }]);
  });

  it('keeps commas inside quoted values and honours backslash escapes', () => {
    expect(parseChallenges('Bearer realm="https://a/t",scope="repository:x:pull,push",error="insufficient_scope", note="a \\"b\\""')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://a/t', scope: 'repository:x:pull,push', error: 'insufficient_scope', note: 'a "b"' } },
    ]);
  });

  it('splits several challenges in one header and across headers, schemes lower-cased, unquoted values kept', () => {
    expect(parseChallenges(['Basic realm="Registry Realm", Bearer realm=https://t/token , service=svc', 'Negotiate'])).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
      { scheme: 'bearer', params: { realm: 'https://t/token', service: 'svc' } },
      { scheme: 'negotiate', params: {} },
    ]);
  });

  it('skips a token68 and answers nothing for an absent header', () => {
    expect(parseChallenges('Basic YWxhZGRpbjpvcGVuc2VzYW1l==, Bearer realm="r"')).toEqual([
      { scheme: 'basic', params: {} },
      { scheme: 'bearer', params: { realm: 'r' } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

import { Digest, pathFor } from '@berth/registry';

const hex = 'ab'.repeat(32);
const digest = Digest.parse(`sha256:${hex}`);
const subject = Digest.parse(`sha256:${'cd'.repeat(32)}`);
const root = '/docker/registry/v2';

describe('pathFor (distribution layout)', () => {
  it.each([
    [{ kind: 'blobData', digest }, `${root}/blobs/sha256/ab/${hex}/data`],
    [{ kind: 'layerLink', name: 'a/b', digest }, `${root}/repositories/a/b/_layers/sha256/${hex}/link`],
    [{ kind: 'revisionLink', name: 'a', digest }, `${root}/repositories/a/_manifests/revisions/sha256/${hex}/link`],
    [{ kind: 'tagCurrentLink', name: 'a', tag: 'v1' }, `${root}/repositories/a/_manifests/tags/v1/current/link`],
    [{ kind: 'tagIndexLink', name: 'a', tag: 'v1', digest }, `${root}/repositories/a/_manifests/tags/v1/index/sha256/${hex}/link`],
    [{ kind: 'uploadData', name: 'a', id: 'u' }, `${root}/repositories/a/_uploads/u/data`],
    [{ kind: 'uploadStartedAt', name: 'a', id: 'u' }, `${root}/repositories/a/_uploads/u/startedat`],
    [
      { kind: 'referrerLink', name: 'a', subject, digest },
      `${root}/repositories/a/_manifests/referrers/sha256/${'cd'.repeat(32)}/sha256/${hex}/link`,
    ],
  ] as const)('%j → %s', (spec, expected) => {
    expect(pathFor(spec)).toBe(expected);
  });
});

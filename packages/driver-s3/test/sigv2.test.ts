import { createHmac } from 'node:crypto';
import { SignatureV2Signer, stringToSign, type SignableRequest } from '../src/sigv2';

// The example of S3's "Signing and authenticating REST requests" (Signature Version 2) documentation.
const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const credentials = async () => ({ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });

function puppy(): SignableRequest {
  return { method: 'GET', protocol: 'https:', hostname: 'johnsmith.s3.amazonaws.com', path: '/photos/puppy.jpg', query: {}, headers: {} };
}

describe('AWS Signature Version 2', () => {
  it("signs the documentation's virtual-hosted GET to its published signature", () => {
    const text = stringToSign(puppy(), 'johnsmith', 'Tue, 27 Mar 2007 19:36:42 +0000');
    expect(text).toBe('GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg');
    expect(createHmac('sha1', SECRET_KEY).update(text).digest('base64')).toBe('bWq2s1WEIj+Ydj0vQ697zp+IXMU=');
  });

  it("presigns the documentation's query-string example to its published signature", async () => {
    const url = new URL(await new SignatureV2Signer('johnsmith', credentials).presign(puppy(), 1000, new Date((1175139620 - 1000) * 1000)));
    expect(url.searchParams.get('AWSAccessKeyId')).toBe(ACCESS_KEY);
    expect(url.searchParams.get('Expires')).toBe('1175139620');
    expect(url.searchParams.get('Signature')).toBe('NpgCjnDzrM+WFzoENXmpNDUsSn8=');
  });

  it('signs path-style requests over the path as sent, with sorted x-amz- headers and only the sub-resources in the query', async () => {
    const request: SignableRequest = {
      method: 'PUT',
      hostname: '127.0.0.1',
      path: '/bucket/a/b',
      query: { uploadId: 'U1', partNumber: '2', 'x-id': 'UploadPart' },
      headers: { 'Content-Type': 'application/octet-stream', 'X-Amz-Meta-B': ' two ', 'x-amz-meta-a': 'one', 'content-length': '5' },
    };
    expect(stringToSign(request, 'bucket', '')).toBe(
      'PUT\n\napplication/octet-stream\n\nx-amz-meta-a:one\nx-amz-meta-b:two\n/bucket/a/b?partNumber=2&uploadId=U1',
    );
    const signed = await new SignatureV2Signer('bucket', credentials).sign(request, { signingDate: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) });
    expect(signed.headers['x-amz-date']).toBe('Fri, 02 Jan 2026 03:04:05 GMT');
    const expected = createHmac('sha1', SECRET_KEY).update(stringToSign(signed, 'bucket', '')).digest('base64');
    expect(signed.headers['authorization']).toBe(`AWS ${ACCESS_KEY}:${expected}`);
    expect(stringToSign(signed, 'bucket', '')).toContain('x-amz-date:Fri, 02 Jan 2026 03:04:05 GMT\n');
  });

  it('signs a sub-resource without a value by its name alone (?uploads, ?delete)', () => {
    const request: SignableRequest = { method: 'POST', hostname: 'h', path: '/bucket/k', query: { uploads: '' }, headers: {} };
    expect(stringToSign(request, 'bucket', '')).toBe('POST\n\n\n\n/bucket/k?uploads');
    expect(stringToSign({ ...request, query: { delete: null } }, 'bucket', '')).toBe('POST\n\n\n\n/bucket/k?delete');
  });
});

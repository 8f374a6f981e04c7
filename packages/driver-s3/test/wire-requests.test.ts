import { parseListPage } from '../src/wire-requests';
import { canonicalQuery, encodePath } from '../src/sigv4';

describe('the driver’s own S3 requests', () => {
  it('reads keys, sizes, times, common prefixes and the continuation of a ListObjectsV2 page, entities decoded', () => {
    const page = parseListPage(`<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>root/a&amp;b/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><NextContinuationToken>1ueG&lt;x&gt;</NextContinuationToken>
<Contents><Key>root/a&amp;b/f&#x27;1</Key><LastModified>2026-12-06T10:00:00.123Z</LastModified><ETag>&quot;e&quot;</ETag><Size>71</Size><StorageClass>STANDARD</StorageClass></Contents>
<CommonPrefixes><Prefix>root/a&amp;b/dir/</Prefix></CommonPrefixes></ListBucketResult>`);
    expect(page.Contents).toEqual([{ Key: "root/a&b/f'1", Size: 71, LastModified: new Date('2026-12-06T10:00:00.123Z') }]);
    expect(page.CommonPrefixes).toEqual([{ Prefix: 'root/a&b/dir/' }]);
    expect(page.IsTruncated).toBe(true);
    expect(page.NextContinuationToken).toBe('1ueG<x>');
  });

  it('reads the last page of a listing as not truncated', () => {
    const page = parseListPage('<ListBucketResult><Prefix>p/</Prefix><IsTruncated>false</IsTruncated></ListBucketResult>');
    expect(page).toEqual({ Contents: [], CommonPrefixes: [], IsTruncated: false, NextContinuationToken: undefined });
  });

  it('encodes paths and queries as Signature Version 4 signs them', () => {
    expect(encodePath("/bucket/a b/c+d/e*f(1)!'~")).toBe('/bucket/a%20b/c%2Bd/e%2Af%281%29%21%27~');
    expect(canonicalQuery([['prefix', 'a/b '], ['list-type', '2'], ['delimiter', '/']])).toBe('delimiter=%2F&list-type=2&prefix=a%2Fb%20');
  });
});

import request from 'supertest';
import { parseS3Parameters, wrapS3Driver } from '@berth/driver-s3';
import { S3Driver } from '../../driver-s3/src/driver';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { countS3Requests, showRequests, totalRequests, type S3RequestCounts } from '../../../test-support/s3-requests';
import { appOptions, imageManifest, putManifest, testApp } from './support/harness';

/**
 * The S3 requests each metadata operation of the API costs (counted by a middleware on the driver's
 * SDK client and an observer of the requests it sends itself), against the minimum the registry:2 layout allows. The numbers are also the "S3
 * requests" column of docs/benchmarks.md.
 */

const skipReason = s3SkipReason();
const describeS3 = skipReason ? describe.skip : describe;
if (skipReason) console.warn(`!!! SKIPPED: S3 requests per API operation: ${skipReason}`);

describeS3(`S3 requests per API operation (${skipReason ?? describeS3Server()})`, () => {
  let raw: S3Driver;
  const counts: S3RequestCounts = {};
  const reset = (): void => {
    for (const key of Object.keys(counts)) delete counts[key];
  };

  beforeAll(() => {
    raw = new S3Driver(parseS3Parameters(s3TestParameters('api-requests')!));
    countS3Requests(raw, counts);
  });
  afterAll(async () => {
    for (const path of await raw.list('/').catch(() => [])) await raw.delete(path);
    await raw.close();
  });

  it('answers tags/list with one listing, the catalog with a few, and a manifest or blob HEAD with at most two reads', async () => {
    const driver = wrapS3Driver(raw);
    const app = testApp(appOptions(driver));
    const bytes = await imageManifest(app, 'team/app');
    for (let i = 0; i < 10; i++) await putManifest(app, 'team/app', `tag-${i}`, bytes);
    for (let i = 0; i < 5; i++) await putManifest(app, `other/repo-${i}`, 'latest', await imageManifest(app, `other/repo-${i}`));
    const digest = (await request(app).head('/v2/team/app/manifests/tag-0').expect(200)).headers['docker-content-digest'] as string;
    const manifest = JSON.parse(bytes.toString()) as { layers: Array<{ digest: string }> };
    const layer = manifest.layers[0]!.digest;

    const measured: Array<[string, S3RequestCounts]> = [];
    const measure = async (label: string, send: () => Promise<unknown>): Promise<S3RequestCounts> => {
      // A fresh app (empty per-process caches) for the cold figure, then the same request again.
      reset();
      await send();
      measured.push([label, { ...counts }]);
      return { ...counts };
    };
    const fresh = (): ReturnType<typeof testApp> => testApp(appOptions(driver));

    const tags = await measure('tags/list, 10 tags', () => request(fresh()).get('/v2/team/app/tags/list').expect(200));
    const catalog = await measure('catalog, 6 repositories', () => request(fresh()).get('/v2/_catalog').expect(200));
    const catalogLast = await measure('catalog ?n=2&last=other/repo-2', () => request(fresh()).get('/v2/_catalog?n=2&last=other/repo-2').expect(200));
    const headTag = await measure('manifest HEAD by tag', () => request(fresh()).head('/v2/team/app/manifests/tag-3').expect(200));
    const getTag = await measure('manifest GET by tag', () => request(fresh()).get('/v2/team/app/manifests/tag-3').expect(200));
    const headDigest = await measure('manifest HEAD by digest', () => request(fresh()).head(`/v2/team/app/manifests/${digest}`).expect(200));
    const getDigest = await measure('manifest GET by digest', () => request(fresh()).get(`/v2/team/app/manifests/${digest}`).expect(200));
    const blobHead = await measure('blob HEAD', () => request(fresh()).head(`/v2/team/app/blobs/${layer}`).expect(200));
    const warm = fresh();
    await request(warm).get('/v2/team/app/manifests/tag-3').expect(200);
    await request(warm).head(`/v2/team/app/blobs/${layer}`).expect(200);
    const getTagWarm = await measure('manifest GET by tag, again (same process)', () => request(warm).get('/v2/team/app/manifests/tag-3').expect(200));
    const blobHeadWarm = await measure('blob HEAD, again (same process)', () => request(warm).head(`/v2/team/app/blobs/${layer}`).expect(200));

    console.log(['S3 requests per API operation:', ...measured.map(([label, c]) => `  ${label}: ${totalRequests(c)} (${showRequests(c)})`)].join('\n'));

    expect(tags).toEqual({ ListObjectsV2: 1 });
    expect(totalRequests(catalog)).toBeLessThanOrEqual(3);
    expect(totalRequests(catalogLast)).toBeLessThanOrEqual(3);
    // A tag: its link, then the manifest's revision link and its bytes (read side by side).
    expect(headTag).toEqual({ GetObject: 3 });
    expect(getTag).toEqual({ GetObject: 3 });
    expect(headDigest).toEqual({ GetObject: 2 });
    expect(getDigest).toEqual({ GetObject: 2 });
    // A blob: its link in the repository and the data's size.
    expect(blobHead).toEqual({ GetObject: 1, HeadObject: 1 });
    // The manifest bytes are remembered by digest (they never change): the links are read again.
    expect(getTagWarm).toEqual({ GetObject: 2 });
    expect(totalRequests(blobHeadWarm)).toBeLessThanOrEqual(2);
  }, 300_000);
});

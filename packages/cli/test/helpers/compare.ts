import { assertSameBlob, layoutBlobDigests, layoutTagDescriptor } from './oci-layout';

/**
 * Checks that a layout skopeo pulled into `pulledDir` holds exactly the blobs `expected` (each one
 * byte-for-byte equal to the same blob in `sourceDir`), and that its `tag` names `manifestDigest`.
 */
export async function expectPulledLayout(
  pulledDir: string,
  sourceDir: string,
  expected: ReadonlySet<string>,
  tag: string,
  manifestDigest: string,
): Promise<void> {
  const pulled = await layoutBlobDigests(pulledDir);
  expect([...pulled].sort()).toEqual([...expected].sort());
  for (const digest of expected) await assertSameBlob(sourceDir, pulledDir, digest);
  expect((await layoutTagDescriptor(pulledDir, tag))?.digest).toBe(manifestDigest);
}

/** The tags `/v2/<name>/tags/list` reports, sorted. */
export async function fetchTags(baseUrl: string, repository: string): Promise<string[]> {
  const response = await fetch(`${baseUrl}/v2/${repository}/tags/list`);
  if (response.status !== 200) throw new Error(`GET tags/list of ${repository}: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { name: string; tags: string[] | null };
  expect(body.name).toBe(repository);
  return (body.tags ?? []).sort();
}

import { run } from './processes';

/**
 * skopeo (Debian's package, 1.9) against plain-HTTP registries on loopback. Every call has a
 * timeout and rejects with skopeo's output on a non-zero exit.
 */

export const SKOPEO = '/usr/bin/skopeo';

function skopeo(args: readonly string[], timeoutMs = 120_000): Promise<{ stdout: string; stderr: string }> {
  return run(SKOPEO, ['--insecure-policy', ...args], { timeoutMs });
}

/** Registry credentials as skopeo takes them (`user:password`) for each side of a copy. */
export interface CopyCredentials {
  readonly src?: string;
  readonly dest?: string;
}

/** `skopeo copy --all` from one transport reference to another, TLS checks off on both sides. */
export async function skopeoCopy(source: string, dest: string, creds: CopyCredentials = {}): Promise<void> {
  const credArgs = [...(creds.src ? ['--src-creds', creds.src] : []), ...(creds.dest ? ['--dest-creds', creds.dest] : [])];
  await skopeo(['copy', '--all', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', ...credArgs, source, dest]);
}

/** The exact manifest bytes a registry serves for a reference (`skopeo inspect --raw`). */
export async function skopeoInspectRaw(reference: string): Promise<Buffer> {
  const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', reference]);
  return Buffer.from(stdout, 'utf8');
}

/** The tags of a repository, sorted (`skopeo list-tags`). */
export async function skopeoListTags(repository: string): Promise<string[]> {
  const { stdout } = await skopeo(['list-tags', '--tls-verify=false', repository]);
  return ((JSON.parse(stdout) as { Tags: string[] | null }).Tags ?? []).sort();
}

/** `skopeo delete` of a manifest (by digest or tag). */
export async function skopeoDelete(reference: string): Promise<void> {
  await skopeo(['delete', '--tls-verify=false', reference]);
}

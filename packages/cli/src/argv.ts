/**
 * registry:2's entrypoint convention: a bare `*.yml`/`*.yaml` first argument means `serve <file>`,
 * so `docker run <image> /etc/docker/registry/other.yml` works as it does with registry:2.
 */
export function withImplicitServe(argv: readonly string[]): string[] {
  const [node, script, first, ...rest] = argv;
  if (first !== undefined && /\.ya?ml$/i.test(first)) return [node, script, 'serve', first, ...rest];
  return [...argv];
}

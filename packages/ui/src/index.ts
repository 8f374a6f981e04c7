import { join } from 'node:path';

/**
 * The web UI's files, for `createApp`'s `ui` option: the pages and styles (`public/`) and the
 * scripts built from `web/` by `tsc -b` (`dist/public/`), served at `<prefix>/ui/`.
 */
export function uiAssets(): { readonly directories: readonly string[] } {
  const root = join(__dirname, '..');
  return { directories: [join(root, 'public'), join(root, 'dist', 'public')] };
}

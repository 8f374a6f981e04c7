import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UiAssets } from '@berth/api';

/** A stand-in for `@berth/ui`'s files (the api may not import the ui package): a page, a script, a nested style. */
export function testUiAssets(): UiAssets {
  const pages = mkdtempSync(join(tmpdir(), 'berth-ui-pages-'));
  const scripts = mkdtempSync(join(tmpdir(), 'berth-ui-scripts-'));
  writeFileSync(join(pages, 'index.html'), '<!doctype html><title>UI</title><script type="module" src="app.js"></script>');
  mkdirSync(join(pages, 'css'));
  writeFileSync(join(pages, 'css', 'app.css'), 'body{}');
  writeFileSync(join(pages, 'notes.txt'), 'not a servable type');
  writeFileSync(join(scripts, 'app.js'), 'export {};');
  return { directories: [pages, scripts] };
}

import { createReadStream, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Request, RequestHandler } from 'express';
import type { Logger } from '@berth/logging';
import type { Authenticator } from '../auth';
import { ApiError } from '../errors';

/** Where the web UI's built files are (`@berth/ui`): served at `<prefix>/ui/`, the first directory first. */
export interface UiAssets {
  readonly directories: readonly string[];
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Nothing but the UI's own files, scripts and styles; no inline script, no framing. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};

/** url path below `/ui/` → file, for every servable file of `directories` (read once: nothing else can be asked for). */
function fileTable(directories: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  function visit(dir: string, prefix: string): void {
    for (const entry of readdirSync(dir).sort()) {
      const file = join(dir, entry);
      if (statSync(file).isDirectory()) visit(file, `${prefix}${entry}/`);
      else if (CONTENT_TYPES[extname(entry)] !== undefined && !files.has(`${prefix}${entry}`)) files.set(`${prefix}${entry}`, file);
    }
  }
  for (const dir of directories) visit(dir, '');
  return files;
}

/**
 * The web UI's pages below `<prefix>/ui/` (its JSON API, `<prefix>/ui/api/`, is in the route
 * table). The pages hold no registry data, but with htpasswd (or silly) auth and no anonymous pull
 * they are behind the same credentials, so that the browser asks for them (Basic challenge) before
 * anything is shown and then sends them to the JSON API below the same path. `ui/login` always asks
 * for credentials (with anonymous pull, that is how a user signs in) and then goes back to the UI.
 * With token auth the pages are public: the page asks for a token when the API answers 401.
 */
export function uiPages(assets: UiAssets, prefix: string, auth: Authenticator | undefined): RequestHandler {
  const files = fileTable(assets.directories);
  const basicScheme = auth !== undefined && auth.scheme !== 'token';
  async function signedIn(req: Request, logger: Logger): Promise<boolean> {
    if (!auth) return true;
    return (await auth.authenticate(req, logger)).kind === 'authenticated';
  }
  function challenge(req: Request): ApiError {
    return new ApiError('UNAUTHORIZED', 'sign in to see the registry', undefined, { 'WWW-Authenticate': auth!.challenge(req, []) });
  }
  return async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const path = prefix === '' ? req.path : req.path.startsWith(`${prefix}/`) ? req.path.slice(prefix.length) : undefined;
    if (path === '/ui') return res.redirect(301, `${prefix}/ui/`);
    if (path === undefined || !path.startsWith('/ui/')) return next();
    const below = path.slice('/ui/'.length);
    const logger = res.locals.logger as Logger;
    if (below === 'login') {
      if (basicScheme && !(await signedIn(req, logger))) throw challenge(req);
      return res.redirect(303, './');
    }
    if (basicScheme && !auth.anonymousPull && !(await signedIn(req, logger))) throw challenge(req);
    const file = files.get(below === '' ? 'index.html' : below);
    if (file === undefined) throw new ApiError('NOT_FOUND', `no such page: ${JSON.stringify(path)}`);
    res.status(200);
    res.set({ ...SECURITY_HEADERS, 'Content-Type': CONTENT_TYPES[extname(file)] as string, 'Cache-Control': 'no-cache' });
    res.setHeader('Content-Length', String(statSync(file).size));
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', next).pipe(res);
  };
}

/**
 * Berth's web UI: one script, no framework. Pages are chosen by the URL's hash (`#/`, `#/r/<name>`,
 * `#/m/<name>@<reference>`, `#/storage`); every page is one request to the JSON API below
 * `./api/` (docs/api.md#web-ui), relative to the page, so `http.prefix` needs nothing here.
 */

// ---------------------------------------------------------------------------------------------
// The JSON API

interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  digest?: string;
}

interface Session {
  user: string | null;
  auth: { scheme: 'htpasswd' | 'token' | 'silly'; anonymousPull: boolean; challenge: string } | null;
  deleteEnabled: boolean;
  readOnly: boolean;
  pullThrough: boolean;
  host: string;
}

interface TagRow {
  tag: string;
  digest: string;
  pushed: string;
  mediaType: string | null;
  artifactType: string | null;
  size: number | null;
  platforms: Platform[];
}

interface Referrer {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface ManifestView {
  name: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  manifestSize: number;
  canDelete: boolean;
  tags: string[];
  manifest: unknown;
  config: ImageConfig | null;
  layers: { digest: string; mediaType: string; size: number }[];
  children: { digest: string; mediaType: string; size: number; artifactType: string | null; platform: Platform | null }[];
  subject: string | null;
  referrers: Referrer[];
}

interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Labels?: Record<string, string> | null;
  };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

interface UsageRow {
  name: string;
  bytes: number;
  uniquebytes: number;
  tags: number;
  manifests: number;
}

/** An API answer other than 2xx, with the registry's words for it. */
class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'berth.token';

function authHeaders(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The message of an OCI error envelope, or the status in words. */
async function failureOf(response: Response): Promise<ApiFailure> {
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    if (first?.message) message = `${first.message}${first.code ? ` (${first.code})` : ''}`;
  } catch {
    // Not JSON: the status line says it.
  }
  return new ApiFailure(response.status, message);
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { Accept: 'application/json', ...authHeaders(), ...(init.headers ?? {}) }, credentials: 'same-origin' });
  } catch (error) {
    throw new ApiFailure(0, `the registry could not be reached (${(error as Error).message})`);
  }
  if (!response.ok) throw await failureOf(response);
  if (response.status === 202 || response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** `a/b` → `a/b` with each segment percent-encoded (names keep their slashes in API paths). */
function pathOf(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

// ---------------------------------------------------------------------------------------------
// DOM helpers

type Child = Node | string | number | null | undefined | false | Child[];

/** The nodes of `children`, nested lists flattened, empty values left out. */
function nodes(children: Child[]): (Node | string)[] {
  const out: (Node | string)[] = [];
  for (const child of children) {
    if (Array.isArray(child)) out.push(...nodes(child));
    else if (child !== null && child !== undefined && child !== false) out.push(child instanceof Node ? child : String(child));
  }
  return out;
}

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value as EventListener);
    else if (key === 'className') el.className = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  el.append(...nodes(children));
  return el;
}

function main(): HTMLElement {
  return document.getElementById('main') as HTMLElement;
}

function show(...children: Child[]): void {
  main().replaceChildren(...nodes(children));
}

/** Previous / next buttons for a list of `pages` pages shown at `page` (none for one page). */
function pager(page: number, pages: number, go: (page: number) => void): HTMLElement | null {
  if (pages <= 1) return null;
  return h(
    'div',
    { className: 'pager' },
    h('button', { type: 'button', disabled: page === 0, onclick: () => go(page - 1) }, '← Previous'),
    h('span', {}, `Page ${page + 1} of ${pages}`),
    h('button', { type: 'button', disabled: page >= pages - 1, onclick: () => go(page + 1) }, 'Next →'),
  );
}

function errorBox(error: unknown): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  return h('p', { className: 'error', role: 'alert' }, message);
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes in decimal units, to 3 significant digits (`12.3 MB`). */
function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toPrecision(3)} ${UNITS[unit]}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A date in the browser's locale, with the exact time on hover. */
function when(iso: string | undefined): HTMLElement | string {
  if (!iso) return '–';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h('time', { datetime: date.toISOString(), title: date.toString() }, dateFormat.format(date));
}

function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return `${digest.slice(0, colon + 1)}${digest.slice(colon + 1, colon + 13)}`;
}

function platformText(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function repoLink(name: string): string {
  return `#/r/${pathOf(name)}`;
}

function manifestLink(name: string, reference: string): string {
  return `#/m/${pathOf(name)}@${encodeURIComponent(reference)}`;
}

// ---------------------------------------------------------------------------------------------
// Session and sign-in

let session: Session | undefined;

async function loadSession(): Promise<Session> {
  session = await api<Session>('api/session');
  const box = document.getElementById('session') as HTMLElement;
  const parts: (Node | string)[] = [];
  if (session.user) parts.push(`Signed in as ${session.user}`);
  else if (session.auth) {
    parts.push('Anonymous (read only) · ');
    parts.push(session.auth.scheme === 'token' ? h('a', { href: '#/signin' }, 'Sign in') : h('a', { href: 'login' }, 'Sign in'));
  }
  if (session.readOnly) parts.push(' · read-only registry');
  if (session.pullThrough) parts.push(' · pull-through cache');
  if (sessionStorage.getItem(TOKEN_KEY)) {
    parts.push(' · ', h('button', { type: 'button', onclick: () => { sessionStorage.removeItem(TOKEN_KEY); location.hash = '#/'; location.reload(); } }, 'Forget token'));
  }
  box.replaceChildren(...parts);
  return session;
}

/** `realm="…"` of a Bearer challenge. */
function realmOf(challenge: string): string | undefined {
  return /realm="([^"]*)"/.exec(challenge)?.[1];
}

function signInPage(reason?: string): void {
  const challenge = session?.auth?.challenge ?? '';
  if (session?.auth && session.auth.scheme !== 'token') {
    show(h('h1', {}, 'Sign in'), reason ? errorBox(reason) : null, h('p', {}, h('a', { href: 'login' }, 'Sign in with your registry user name and password'), '.'));
    return;
  }
  const realm = realmOf(challenge);
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', 'aria-label': 'Token', placeholder: 'paste a registry token' });
  show(
    h('h1', {}, 'Sign in with a token'),
    reason ? errorBox(reason) : null,
    h('p', {}, 'This registry uses token authentication. Get a token from the token server', realm ? [' (', h('a', { href: realm, rel: 'noreferrer' }, realm), ')'] : null, ' and paste it here; it is kept in this tab only.'),
    h(
      'form',
      {
        className: 'toolbar',
        onsubmit: (event: Event) => {
          event.preventDefault();
          const token = input.value.trim().replace(/^Bearer\s+/i, '');
          if (token) sessionStorage.setItem(TOKEN_KEY, token);
          location.hash = '#/';
          location.reload();
        },
      },
      input,
      h('button', { type: 'submit', className: 'primary' }, 'Use token'),
    ),
  );
}

/** Shows an API failure in words (a sign-in page for a 401). */
function failed(error: unknown): void {
  if (error instanceof ApiFailure && error.status === 401) return signInPage(`The registry asks for credentials: ${error.message}`);
  show(h('h1', {}, 'Something went wrong'), errorBox(error), h('p', {}, h('a', { href: '#/' }, 'Back to the repositories')));
}

// ---------------------------------------------------------------------------------------------
// Pull commands

const CLIENTS = ['docker', 'podman', 'skopeo', 'oras', 'crane'] as const;
type Client = (typeof CLIENTS)[number];

function pullCommand(client: Client, host: string, name: string, reference: string): string {
  const ref = reference.includes(':') ? `${host}/${name}@${reference}` : `${host}/${name}:${reference}`;
  switch (client) {
    case 'docker':
      return `docker pull ${ref}`;
    case 'podman':
      return `podman pull ${ref}`;
    case 'skopeo':
      return `skopeo copy docker://${ref} oci:${name.split('/').pop()}`;
    case 'oras':
      return `oras pull ${ref}`;
    case 'crane':
      return `crane pull ${ref} ${name.split('/').pop()}.tar`;
  }
}

function preferredClient(): Client {
  const saved = localStorage.getItem('berth.client');
  return (CLIENTS as readonly string[]).includes(saved ?? '') ? (saved as Client) : 'docker';
}

async function copy(text: string, button: HTMLButtonElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Copy failed: select the text';
  }
  setTimeout(() => (button.textContent = 'Copy'), 1500);
}

/** A client chooser, the command, and a copy button. */
function pullBox(name: string, reference: string): HTMLElement {
  const host = session?.host ?? location.host;
  const code = h('code', {}, pullCommand(preferredClient(), host, name, reference));
  const select = h('select', { 'aria-label': 'Client' }, ...CLIENTS.map((c) => h('option', { value: c, selected: c === preferredClient() }, c)));
  select.addEventListener('change', () => {
    localStorage.setItem('berth.client', select.value);
    code.textContent = pullCommand(select.value as Client, host, name, reference);
  });
  const button = h('button', { type: 'button' }, 'Copy');
  button.addEventListener('click', () => void copy(code.textContent ?? '', button));
  return h('div', { className: 'pull' }, select, code, button);
}

function copyButton(name: string, reference: string): HTMLButtonElement {
  const button = h('button', { type: 'button', title: 'Copy the pull command', 'aria-label': `Copy the pull command of ${reference}` }, 'Copy');
  button.addEventListener('click', () => void copy(pullCommand(preferredClient(), session?.host ?? location.host, name, reference), button));
  return button;
}

// ---------------------------------------------------------------------------------------------
// Catalog: namespaces as a tree, filter as you type, pages of 100

const PAGE = 100;

/** Per-repository usage (`api/usage`, as `/v2/_berth/usage`: computed and cached by the server). */
async function loadUsage(): Promise<{ rows: UsageRow[]; total: unknown } | undefined> {
  try {
    const body = await api<{ repositories?: UsageRow[]; total?: unknown }>('api/usage');
    return { rows: body.repositories ?? [], total: body.total };
  } catch {
    return undefined;
  }
}

/**
 * Every repository name and its usage, asked afresh each time the page is shown (never an older
 * list than the registry has); filtering and paging then run over them in memory.
 */
async function repositories(): Promise<{ names: string[]; usage: Map<string, UsageRow> | undefined }> {
  const [list, usage] = await Promise.all([api<{ repositories: string[] }>('api/repositories'), loadUsage()]);
  return { names: list.repositories, usage: usage ? new Map(usage.rows.map((r) => [r.name, r])) : undefined };
}

async function catalogPage(params: URLSearchParams): Promise<void> {
  const started = performance.now();
  const namespace = params.get('ns') ?? '';
  const data = await repositories();
  const filter = h('input', { type: 'search', id: 'filter', placeholder: 'Filter repositories', 'aria-label': 'Filter repositories', value: params.get('q') ?? '' });
  const results = h('div', { id: 'results' });
  let page = 0;

  function render(): void {
    const query = filter.value.trim().toLowerCase();
    let folders: [string, number][] = [];
    let names: string[];
    if (query !== '') {
      names = data.names.filter((n) => n.toLowerCase().includes(query));
    } else {
      const below = namespace === '' ? data.names : data.names.filter((n) => n.startsWith(namespace));
      const counts = new Map<string, number>();
      names = [];
      for (const name of below) {
        const rest = name.slice(namespace.length);
        const slash = rest.indexOf('/');
        if (slash === -1) names.push(name);
        else counts.set(rest.slice(0, slash + 1), (counts.get(rest.slice(0, slash + 1)) ?? 0) + 1);
      }
      folders = [...counts];
    }
    const pages = Math.max(1, Math.ceil((folders.length + names.length) / PAGE));
    page = Math.min(page, pages - 1);
    const entries: ([string, number] | string)[] = [...folders, ...names].slice(page * PAGE, (page + 1) * PAGE);
    const rows = entries.map((entry) => {
      if (typeof entry !== 'string') {
        const [folder, count] = entry;
        const target = `#/?ns=${encodeURIComponent(namespace + folder)}`;
        return h('tr', {}, h('td', {}, h('a', { href: target, className: 'folder' }, folder)), h('td', { className: 'num' }, `${count} ${count === 1 ? 'repository' : 'repositories'}`), h('td', { className: 'num' }, ''));
      }
      const usage = data.usage?.get(entry);
      return h(
        'tr',
        {},
        h('td', {}, h('a', { href: repoLink(entry) }, query === '' ? entry.slice(namespace.length) : entry)),
        h('td', { className: 'num' }, usage ? `${usage.tags} tags` : ''),
        h('td', { className: 'num' }, usage ? bytes(usage.bytes) : ''),
      );
    });
    const total = folders.length + names.length;
    results.replaceChildren(...nodes([
      h('p', { className: 'muted', id: 'count' }, query !== '' ? `${names.length} of ${data.names.length} repositories match` : `${data.names.length} repositories`),
      total === 0
        ? h('p', {}, data.names.length === 0 ? 'No repositories yet: push an image to see it here.' : 'Nothing matches.')
        : h('div', { className: 'table' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Repository'), h('th', { className: 'num' }, data.usage ? 'Tags' : ''), h('th', { className: 'num' }, data.usage ? 'Size' : ''))), h('tbody', {}, rows))),
      pager(page, pages, (to) => { page = to; render(); }),
    ]));
  }

  let scheduled = 0;
  filter.addEventListener('input', () => {
    cancelAnimationFrame(scheduled);
    scheduled = requestAnimationFrame(() => {
      page = 0;
      render();
    });
  });
  const crumbs: Node[] = [h('a', { href: '#/' }, 'All')];
  let walked = '';
  for (const part of namespace.split('/').filter((p) => p !== '')) {
    walked += `${part}/`;
    crumbs.push(document.createTextNode(' / '), h('a', { href: `#/?ns=${encodeURIComponent(walked)}` }, part));
  }
  show(
    h('h1', {}, 'Repositories'),
    namespace !== '' ? h('div', { className: 'crumbs' }, crumbs) : null,
    h('div', { className: 'toolbar' }, filter, h('button', { type: 'button', onclick: () => void route() }, 'Refresh')),
    results,
  );
  const drawing = performance.now();
  render();
  // For bench/ui.js: the whole page (requests and drawing), and the drawing alone.
  main().dataset.draw = String(Math.round(performance.now() - drawing));
  main().dataset.rendered = String(Math.round(performance.now() - started));
}

// ---------------------------------------------------------------------------------------------
// Repository: tags

async function repositoryPage(name: string): Promise<void> {
  const started = performance.now();
  const data = await api<{ name: string; canDelete: boolean; tags: TagRow[] }>(`api/repositories/${pathOf(name)}/tags`);
  let sort: 'name' | 'pushed' = (localStorage.getItem('berth.sort') as 'name' | 'pushed') ?? 'name';
  let page = 0;
  const filter = h('input', { type: 'search', placeholder: 'Filter tags', 'aria-label': 'Filter tags' });
  const results = h('div', { id: 'tags' });
  const byName = h('button', { type: 'button' }, 'Name');
  const byPushed = h('button', { type: 'button' }, 'Newest first');

  function render(): void {
    byName.setAttribute('aria-pressed', String(sort === 'name'));
    byPushed.setAttribute('aria-pressed', String(sort === 'pushed'));
    const query = filter.value.trim().toLowerCase();
    const rows = data.tags.filter((t) => query === '' || t.tag.toLowerCase().includes(query));
    if (sort === 'pushed') rows.sort((a, b) => b.pushed.localeCompare(a.pushed) || a.tag.localeCompare(b.tag));
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    page = Math.min(page, pages - 1);
    const body = rows.slice(page * PAGE, (page + 1) * PAGE).map((t) =>
      h(
        'tr',
        {},
        h('td', {}, h('a', { href: manifestLink(name, t.tag) }, t.tag)),
        h('td', { className: 'hide-narrow' }, h('a', { href: manifestLink(name, t.digest) }, h('code', {}, shortDigest(t.digest)))),
        h('td', { className: 'num' }, bytes(t.size)),
        h('td', {}, h('span', { className: 'chips' }, t.artifactType ? h('span', { className: 'chip' }, t.artifactType) : t.platforms.map((p) => h('span', { className: 'chip' }, platformText(p))))),
        h('td', {}, when(t.pushed)),
        h('td', {}, copyButton(name, t.tag), data.canDelete ? [' ', deleteButton(name, t.tag, `tag ${t.tag}`, () => route())] : null),
      ),
    );
    results.replaceChildren(...nodes([
      h('p', { className: 'muted' }, `${data.tags.length} tags`),
      rows.length === 0
        ? h('p', {}, data.tags.length === 0 ? 'No tags: the repository holds only untagged manifests.' : 'No tag matches.')
        : h(
            'div',
            { className: 'table' },
            h(
              'table',
              {},
              h('thead', {}, h('tr', {}, h('th', {}, 'Tag'), h('th', { className: 'hide-narrow' }, 'Digest'), h('th', { className: 'num' }, 'Size'), h('th', {}, 'Platforms'), h('th', {}, 'Pushed'), h('th', {}, 'Actions'))),
              h('tbody', {}, body),
            ),
          ),
      pager(page, pages, (to) => { page = to; render(); }),
    ]));
  }
  byName.addEventListener('click', () => { sort = 'name'; localStorage.setItem('berth.sort', sort); render(); });
  byPushed.addEventListener('click', () => { sort = 'pushed'; localStorage.setItem('berth.sort', sort); render(); });
  filter.addEventListener('input', () => { page = 0; render(); });
  show(
    h('div', { className: 'crumbs' }, h('a', { href: '#/' }, 'Repositories'), ' / ', name),
    h('h1', {}, name),
    data.tags.length > 0 ? pullBox(name, data.tags.some((t) => t.tag === 'latest') ? 'latest' : (data.tags[0] as TagRow).tag) : null,
    h('div', { className: 'toolbar' }, filter, h('span', { className: 'muted' }, 'Sort:'), byName, byPushed),
    results,
  );
  const drawing = performance.now();
  render();
  // For bench/ui.js: the whole page (requests and drawing), and the drawing alone.
  main().dataset.draw = String(Math.round(performance.now() - drawing));
  main().dataset.rendered = String(Math.round(performance.now() - started));
}

/** A delete button asking for confirmation; `reference` is a tag or a digest. */
function deleteButton(name: string, reference: string, what: string, then: () => void): HTMLButtonElement {
  const button = h('button', { type: 'button', className: 'danger', 'aria-label': `Delete ${what}` }, 'Delete');
  button.addEventListener('click', async () => {
    const warning = reference.includes(':') ? `Delete manifest ${reference} of ${name}, and every tag pointing at it?` : `Delete tag ${reference} of ${name}? The image stays if other tags or digests use it.`;
    if (!confirm(warning)) return;
    button.disabled = true;
    try {
      await api(`api/repositories/${pathOf(name)}/manifests/${encodeURIComponent(reference)}`, { method: 'DELETE' });
      then();
    } catch (error) {
      button.disabled = false;
      button.after(errorBox(error));
    }
  });
  return button;
}

// ---------------------------------------------------------------------------------------------
// Image: manifest, config, layers, platforms, referrers

/** A Dockerfile-like view of an image's history. */
function historyText(config: ImageConfig): string {
  return (config.history ?? [])
    .map((step) => {
      const by = (step.created_by ?? '').replace(/^\/bin\/sh -c #\(nop\)\s*/, '').replace(/^\/bin\/sh -c /, 'RUN ');
      return by.trim() === '' ? `# ${step.comment ?? '(no command)'}` : by.trim();
    })
    .join('\n');
}

function configSection(config: ImageConfig): HTMLElement[] {
  const c = config.config ?? {};
  const row = (label: string, value: Child) => [h('dt', {}, label), h('dd', {}, value)];
  const list = (values: string[] | null | undefined) => (values && values.length > 0 ? h('code', {}, JSON.stringify(values)) : '–');
  const labels = Object.entries(c.Labels ?? {});
  return [
    h('h2', {}, 'Configuration'),
    h(
      'dl',
      { className: 'grid' },
      row('Platform', config.os ? `${config.os}/${config.architecture ?? '?'}` : '–'),
      row('Created', when(config.created)),
      row('Entrypoint', list(c.Entrypoint)),
      row('Command', list(c.Cmd)),
      row('Working directory', c.WorkingDir || '–'),
      row('User', c.User || '–'),
      row('Exposed ports', Object.keys(c.ExposedPorts ?? {}).join(', ') || '–'),
    ),
    h('h2', {}, 'Environment'),
    (c.Env ?? []).length > 0 ? h('pre', {}, (c.Env ?? []).join('\n')) : h('p', { className: 'muted' }, 'None.'),
    h('h2', {}, 'Labels'),
    labels.length > 0 ? h('dl', { className: 'grid' }, labels.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])) : h('p', { className: 'muted' }, 'None.'),
    h('h2', {}, 'History'),
    (config.history ?? []).length > 0 ? h('pre', { className: 'history' }, historyText(config)) : h('p', { className: 'muted' }, 'None recorded.'),
  ];
}

function referrersSection(name: string, referrers: Referrer[]): HTMLElement[] {
  const groups = new Map<string, Referrer[]>();
  for (const r of referrers) {
    const type = r.artifactType ?? r.mediaType;
    groups.set(type, [...(groups.get(type) ?? []), r]);
  }
  return [
    h('h2', {}, `Referrers (${referrers.length})`),
    referrers.length === 0
      ? h('p', { className: 'muted' }, 'No signatures, SBOMs or attestations refer to this manifest.')
      : h(
          'div',
          { id: 'referrers' },
          [...groups].map(([type, items]) => [
            h('h3', {}, type),
            h(
              'ul',
              {},
              items.map((r) =>
                h('li', {}, h('a', { href: manifestLink(name, r.digest) }, h('code', { className: 'digest' }, r.digest)), ` · ${bytes(r.size)}`, r.annotations?.['org.opencontainers.image.created'] ? [' · ', when(r.annotations['org.opencontainers.image.created'])] : null),
              ),
            ),
          ]),
        ),
  ];
}

async function manifestPage(name: string, reference: string): Promise<void> {
  const view = await api<ManifestView>(`api/repositories/${pathOf(name)}/manifests/${encodeURIComponent(reference)}`);
  const isIndex = view.children.length > 0 || /index|list/.test(view.mediaType);
  show(
    h('div', { className: 'crumbs' }, h('a', { href: '#/' }, 'Repositories'), ' / ', h('a', { href: repoLink(name) }, name), ' / ', reference.includes(':') ? shortDigest(reference) : reference),
    h('h1', {}, `${name}${reference.includes(':') ? '@' : ':'}${reference.includes(':') ? shortDigest(reference) : reference}`),
    h(
      'dl',
      { className: 'grid' },
      h('dt', {}, 'Digest'),
      h('dd', {}, h('code', { className: 'digest' }, view.digest)),
      h('dt', {}, 'Media type'),
      h('dd', {}, view.mediaType),
      view.artifactType ? [h('dt', {}, 'Artifact type'), h('dd', {}, view.artifactType)] : null,
      h('dt', {}, 'Size'),
      h('dd', {}, bytes(view.size), isIndex ? ' (all platforms)' : ''),
      h('dt', {}, 'Tags'),
      h('dd', {}, view.tags.length > 0 ? h('span', { className: 'chips' }, view.tags.map((t) => h('a', { className: 'chip', href: manifestLink(name, t) }, t))) : 'untagged'),
      view.subject ? [h('dt', {}, 'Refers to'), h('dd', {}, h('a', { href: manifestLink(name, view.subject), id: 'subject' }, h('code', { className: 'digest' }, view.subject)))] : null,
    ),
    h('h2', {}, 'Pull'),
    pullBox(name, reference.includes(':') ? view.digest : reference),
    isIndex
      ? [
          h('h2', {}, `Platforms (${view.children.length})`),
          h(
            'div',
            { className: 'table' },
            h(
              'table',
              { id: 'platforms' },
              h('thead', {}, h('tr', {}, h('th', {}, 'Platform'), h('th', {}, 'Manifest'), h('th', { className: 'num' }, 'Size'))),
              h(
                'tbody',
                {},
                view.children.map((child) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, child.platform ? platformText(child.platform) : child.artifactType ?? 'unknown'),
                    h('td', {}, h('a', { href: manifestLink(name, child.digest) }, h('code', {}, shortDigest(child.digest)))),
                    h('td', { className: 'num' }, bytes(child.size)),
                  ),
                ),
              ),
            ),
          ),
        ]
      : null,
    view.layers.length > 0
      ? [
          h('h2', {}, `Layers (${view.layers.length})`),
          h(
            'div',
            { className: 'table' },
            h(
              'table',
              { id: 'layers' },
              h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Digest'), h('th', { className: 'hide-narrow' }, 'Media type'), h('th', { className: 'num' }, 'Size'))),
              h(
                'tbody',
                {},
                view.layers.map((layer, i) =>
                  h('tr', {}, h('td', {}, i + 1), h('td', {}, h('code', {}, shortDigest(layer.digest))), h('td', { className: 'hide-narrow' }, layer.mediaType), h('td', { className: 'num' }, bytes(layer.size))),
                ),
              ),
            ),
          ),
        ]
      : null,
    view.config ? configSection(view.config) : null,
    referrersSection(name, view.referrers),
    h('h2', {}, 'Manifest'),
    h('details', {}, h('summary', {}, `Raw JSON (${bytes(view.manifestSize)})`), h('pre', { id: 'raw' }, JSON.stringify(view.manifest, null, 2))),
    view.canDelete
      ? [h('h2', {}, 'Delete'), h('p', {}, deleteButton(name, view.digest, `manifest ${view.digest}`, () => (location.hash = repoLink(name))), ' the manifest and every tag pointing at it.')]
      : null,
  );
}

// ---------------------------------------------------------------------------------------------
// Storage

async function storagePage(): Promise<void> {
  let body: { repositories?: UsageRow[]; total?: unknown };
  try {
    body = await api('api/usage');
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 404) {
      show(h('h1', {}, 'Storage'), h('p', {}, 'This registry does not report its storage usage.'));
      return;
    }
    throw error;
  }
  const rows = [...(body.repositories ?? [])].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
  const total = body.total;
  const totalBytes = typeof total === 'number' ? total : typeof total === 'object' && total !== null ? (total as { bytes?: number }).bytes : undefined;
  show(
    h('h1', {}, 'Storage'),
    h('p', {}, 'Total: ', h('strong', { id: 'total' }, bytes(totalBytes ?? rows.reduce((s, r) => s + r.uniquebytes, 0))), h('span', { className: 'muted' }, ' — shared bytes count once. A repository\'s unique bytes are those no other repository uses: what deleting it (and collecting garbage) frees.')),
    h(
      'div',
      { className: 'table' },
      h(
        'table',
        { id: 'usage' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Repository'), h('th', { className: 'num' }, 'Size'), h('th', { className: 'num' }, 'Unique'), h('th', { className: 'num' }, 'Tags'), h('th', { className: 'num hide-narrow' }, 'Manifests'))),
        h(
          'tbody',
          {},
          rows.map((r) =>
            h('tr', {}, h('td', {}, h('a', { href: repoLink(r.name) }, r.name)), h('td', { className: 'num' }, bytes(r.bytes)), h('td', { className: 'num' }, bytes(r.uniquebytes)), h('td', { className: 'num' }, r.tags), h('td', { className: 'num hide-narrow' }, r.manifests)),
          ),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Router

async function route(): Promise<void> {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?', 2) as [string, string | undefined];
  const params = new URLSearchParams(query ?? '');
  main().removeAttribute('data-rendered');
  try {
    if (!session) await loadSession();
    if (path === '/signin') return signInPage();
    if (path === '/storage') return await storagePage();
    if (path.startsWith('/r/')) return await repositoryPage(decodeURIComponent(path.slice(3)));
    if (path.startsWith('/m/')) {
      const rest = path.slice(3);
      const at = rest.lastIndexOf('@');
      return await manifestPage(decodeURIComponent(rest.slice(0, at)), decodeURIComponent(rest.slice(at + 1)));
    }
    return await catalogPage(params);
  } catch (error) {
    failed(error);
  } finally {
    document.title = `${document.querySelector('h1')?.textContent ?? 'Berth'} · Berth registry`;
  }
}

window.addEventListener('hashchange', () => {
  void route().then(() => main().focus({ preventScroll: true }));
});
void route();

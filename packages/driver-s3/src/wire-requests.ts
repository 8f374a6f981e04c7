import http from 'node:http';
import https from 'node:https';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Parameters } from './params';
import { SignatureV4Signer, canonicalQuery, encodePath } from './sigv4';
import { clientCredentials, MAX_SOCKETS } from './client';
import type { SignatureV2Signer } from './sigv2';

/** Bodies larger than this are left to the SDK (a metadata read is a few hundred bytes to a few MiB). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const PROBE_KEY = 'berth-wire-probe';
/**
 * After a request on the wire failed (no answer, a reset, a throttling or failing store, a refused
 * signature), requests go through the SDK for this long, so that a struggling store gets the SDK's
 * back-off and adaptive rate limiting and is not also sent a first attempt without them.
 */
const COOL_DOWN_MS = 5_000;

/** What the requests need of the driver's context (its bucket, parameters and SDK client). */
interface WireContext {
  readonly bucket: string;
  readonly params: S3Parameters;
  readonly client: S3Client;
}

/** The requests sent on the wire; tests observe them as they observe the SDK's commands. */
export type WireCommand = 'GetObject' | 'HeadObject' | 'ListObjectsV2';

/** One page of ListObjectsV2, in the SDK output's field names (so either source reads the same). */
export interface ListPage {
  Contents?: Array<{ Key?: string; Size?: number; LastModified?: Date }>;
  CommonPrefixes?: Array<{ Prefix?: string }>;
  IsTruncated?: boolean;
  NextContinuationToken?: string;
}

export interface ListInput {
  readonly prefix: string;
  readonly delimiter?: string;
  readonly startAfter?: string;
  readonly continuationToken?: string;
  readonly maxKeys?: number;
}

/** Where requests go: the SDK's own addressing (endpoint, path-style or virtual-hosted bucket). */
interface Base {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number | undefined;
  /** `host[:port]` as the Host header. */
  readonly host: string;
  /** The path before a key: `/<bucket>/` (path-style) or `/`. */
  readonly keyPrefix: string;
  readonly agent: http.Agent;
}

/** What an answer came to: its status, headers and (for a GET) its body. */
interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * The driver's small read-only requests (GetObject of a link or manifest, HeadObject, ListObjectsV2)
 * signed by the driver itself and sent on its own keep-alive connections, without the SDK's
 * middleware stack: profiled on S3 metadata requests, the SDK's pipeline (middleware, SigV4 through
 * its generic signer, its XML parser) took about a third of the process's CPU, as much as Berth's
 * own work. Requests go to the address the SDK would use (taken once from a presigned URL), signed
 * with the client's credentials: SigV4 for the client's region, or SigV2 with `v4auth: false`.
 *
 * Only the plain outcomes are handled here: a 200 (and a 404 `NoSuchKey`/HEAD 404 as *missing*).
 * Anything else (another status, a refused, reset or silent connection, a body too large) is
 * *declined* (`undefined`), and the caller sends the same request through the SDK, whose retries,
 * throttling and error mapping then apply unchanged; after a failure every request is declined
 * unsent for `COOL_DOWN_MS`, so the first request to meet a failing store costs one attempt more
 * than `maxretries` allows the SDK (one more time-out against a stalled store), the later ones none.
 */
export class WireRequests {
  private base: Promise<Base | undefined> | undefined;
  private v4: Promise<SignatureV4Signer> | undefined;
  private readonly observers: Array<(command: WireCommand) => void> = [];
  /** Until when requests are declined unsent (see `COOL_DOWN_MS`). */
  private coolingUntil = 0;

  constructor(
    private readonly ctx: WireContext,
    /** A presigned URL for the command, as the driver signs them (only its address is used). */
    private readonly presign: (command: GetObjectCommand, expiresIn: number) => Promise<string>,
    /** The client's SigV2 signer with `v4auth: false`. */
    private readonly sigv2: SignatureV2Signer | undefined,
  ) {}

  /** Calls `observer` with every request sent on the wire (tests count them). */
  observe(observer: (command: WireCommand) => void): void {
    this.observers.push(observer);
  }

  /** The object's bytes, `'missing'`, or undefined when declined. */
  async getObject(key: string): Promise<Buffer | 'missing' | undefined> {
    const answer = await this.send('GetObject', 'GET', key, []);
    if (answer?.status === 200) return answer.body;
    if (answer?.status === 404 && /<Code>NoSuchKey<\/Code>/.test(answer.body.toString('latin1'))) return 'missing';
    return undefined;
  }

  /**
   * The object's size and time, `'missing'` on a 404 (a HEAD answer has no body to tell a missing
   * key from a missing bucket; the caller's next request, a listing, tells), or undefined when declined.
   */
  async headObject(key: string): Promise<{ size: number; modTime: Date } | 'missing' | undefined> {
    const answer = await this.send('HeadObject', 'HEAD', key, []);
    if (answer?.status === 404) return 'missing';
    if (answer?.status !== 200) return undefined;
    const size = Number(answer.headers['content-length']);
    const modTime = new Date(answer.headers['last-modified'] ?? '');
    if (!Number.isSafeInteger(size) || Number.isNaN(modTime.getTime())) return undefined;
    return { size, modTime };
  }

  /** One ListObjectsV2 page, or undefined when declined. */
  async listObjects(input: ListInput): Promise<ListPage | undefined> {
    const query: Array<[string, string]> = [['list-type', '2'], ['prefix', input.prefix]];
    if (input.delimiter !== undefined) query.push(['delimiter', input.delimiter]);
    if (input.continuationToken !== undefined) query.push(['continuation-token', input.continuationToken]);
    else if (input.startAfter !== undefined) query.push(['start-after', input.startAfter]);
    if (input.maxKeys !== undefined) query.push(['max-keys', String(input.maxKeys)]);
    const answer = await this.send('ListObjectsV2', 'GET', undefined, query);
    if (answer?.status !== 200) return undefined;
    return parseListPage(answer.body.toString('utf8'));
  }

  /** Closes the kept-alive connections. */
  close(): void {
    void this.base?.then((base) => base?.agent.destroy(), () => undefined);
  }

  /** Sends one signed request; undefined when it could not be sent or answered in full. */
  private async send(command: WireCommand, method: 'GET' | 'HEAD', key: string | undefined, query: Array<[string, string]>): Promise<Answer | undefined> {
    if (Date.now() < this.coolingUntil) return undefined;
    let base: Base | undefined;
    let headers: Record<string, string>;
    let path: string;
    try {
      // A failed resolution is tried again by the next request (this one goes through the SDK).
      base = await (this.base ??= this.resolveBase().catch(() => (this.base = undefined)));
      if (!base) return undefined;
      const resource = key === undefined ? (base.keyPrefix === '/' ? '/' : base.keyPrefix.slice(0, -1)) : base.keyPrefix + encodePath(key);
      const search = canonicalQuery(query);
      path = search ? `${resource}?${search}` : resource;
      headers = this.sigv2
        ? await this.signV2(base, method, resource, query)
        : (await (this.v4 ??= this.v4Signer())).sign({ method, host: base.host, path: resource, query: search }, await clientCredentials(this.ctx.client));
    } catch {
      return undefined;
    }
    for (const observer of this.observers) observer(command);
    const answer = await this.exchange(base, method, path, headers);
    // Any answer but these (throttling, failures, and a refused signature or clock skew, which would
    // otherwise cost every request two attempts) sends the next requests through the SDK for a while.
    if (!answer || (answer.status !== 200 && answer.status !== 404)) this.coolingUntil = Date.now() + COOL_DOWN_MS;
    return answer;
  }

  private exchange(base: Base, method: string, path: string, headers: Record<string, string>): Promise<Answer | undefined> {
    const { connectTimeoutMs, idleTimeoutMs } = this.ctx.params;
    return new Promise<Answer | undefined>((resolve) => {
      const request = (base.secure ? https : http).request(
        { agent: base.agent, method, hostname: base.hostname, port: base.port, path, headers: { ...headers, host: base.host, 'user-agent': this.ctx.params.userAgent ?? 'berth' } },
        (response) => {
          const status = response.statusCode ?? 0;
          const length = Number(response.headers['content-length'] ?? 0);
          if (length > MAX_BODY_BYTES) {
            request.destroy();
            resolve(undefined);
            return;
          }
          const chunks: Buffer[] = [];
          let received = 0;
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > MAX_BODY_BYTES) request.destroy();
            else chunks.push(chunk);
          });
          response.on('end', () => resolve({ status, headers: response.headers, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) }));
          response.on('error', () => resolve(undefined));
        },
      );
      request.on('error', () => resolve(undefined));
      request.on('close', () => resolve(undefined));
      request.setTimeout(idleTimeoutMs, () => request.destroy());
      request.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => request.destroy(), connectTimeoutMs);
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      request.end();
    });
  }

  /** The SDK's address for the bucket, from a presigned URL of a probe key (nothing is sent). */
  private async resolveBase(): Promise<Base | undefined> {
    const url = new URL(await this.presign(new GetObjectCommand({ Bucket: this.ctx.bucket, Key: PROBE_KEY }), 60));
    if (!url.pathname.endsWith(`/${PROBE_KEY}`)) return undefined;
    const secure = url.protocol === 'https:';
    const options = { keepAlive: true, maxSockets: MAX_SOCKETS };
    return {
      secure,
      agent: secure ? new https.Agent({ ...options, rejectUnauthorized: !this.ctx.params.skipVerify }) : new http.Agent(options),
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      host: url.host,
      keyPrefix: url.pathname.slice(0, -PROBE_KEY.length),
    };
  }

  private async v4Signer(): Promise<SignatureV4Signer> {
    const region = this.ctx.client.config.region as unknown as string | (() => Promise<string>);
    return new SignatureV4Signer(typeof region === 'function' ? await region() : region);
  }

  private async signV2(base: Base, method: string, resource: string, query: Array<[string, string]>): Promise<Record<string, string>> {
    const request = { method, hostname: base.hostname, port: base.port, path: resource, query: Object.fromEntries(query), headers: {} as Record<string, string> };
    await (this.sigv2 as SignatureV2Signer).sign(request);
    return request.headers;
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Text content of an XML element: entities and character references decoded. */
function xmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, name: string) =>
    name.startsWith('#x') ? String.fromCodePoint(parseInt(name.slice(2), 16)) : name.startsWith('#') ? String.fromCodePoint(Number(name.slice(1))) : (ENTITIES[name] as string),
  );
}

const ELEMENTS = new Map<string, RegExp>();

function element(xml: string, name: string): string | undefined {
  let pattern = ELEMENTS.get(name);
  if (!pattern) ELEMENTS.set(name, (pattern = new RegExp(`<${name}>([^<]*)</${name}>`)));
  const match = pattern.exec(xml);
  return match ? xmlText(match[1] as string) : undefined;
}

/** The fields the driver reads from a `ListBucketResult` document. */
export function parseListPage(xml: string): ListPage {
  const page: ListPage = { Contents: [], CommonPrefixes: [] };
  for (const [, body] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    page.Contents!.push({
      Key: element(body as string, 'Key'),
      Size: Number(element(body as string, 'Size') ?? 0),
      LastModified: new Date(element(body as string, 'LastModified') ?? 0),
    });
  }
  for (const [, body] of xml.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)) {
    page.CommonPrefixes!.push({ Prefix: element(body as string, 'Prefix') });
  }
  // The page's own flags sit outside the Contents and CommonPrefixes elements.
  const outside = xml.replace(/<(Contents|CommonPrefixes)>[\s\S]*?<\/\1>/g, '');
  page.IsTruncated = element(outside, 'IsTruncated') === 'true';
  page.NextContinuationToken = element(outside, 'NextContinuationToken');
  return page;
}

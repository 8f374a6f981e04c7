import { isUtf8 } from 'node:buffer';
import { Digest } from './digest';
import { ManifestInvalidError } from './errors';
import {
  essence,
  GENERIC_CONTENT_TYPES,
  IMAGE_MEDIA_TYPES,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MediaType,
  SCHEMA1_MEDIA_TYPES,
} from './media-types';

/** A validated content descriptor from a manifest. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** What the registry needs to know about a manifest it accepts. */
export interface ParsedManifest {
  /** The media type the manifest is stored and served as. */
  readonly mediaType: string;
  /** True for OCI image indexes and Docker manifest lists. */
  readonly isIndex: boolean;
  readonly config?: Descriptor;
  readonly layers: readonly Descriptor[];
  /** Children of an index. */
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

type Json = Record<string, unknown>;

/**
 * The deepest nesting of objects and arrays a manifest may have (the document itself is level 1).
 * OCI and Docker manifests need 4 (an index's `platform`); deeper JSON is refused before parsing.
 */
export const MAX_MANIFEST_DEPTH = 100;

/**
 * The most descriptors (`layers` plus `manifests`) one manifest may list. Docker images stop at 127
 * layers; the limit bounds the checks a PUT does, whatever the size limit lets through.
 */
export const MAX_MANIFEST_DESCRIPTORS = 10_000;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): never {
  throw new ManifestInvalidError(message, { reason: message });
}

function optionalString(json: Json, key: string, where: string): string | undefined {
  const value = json[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') invalid(`${where}${key} must be a string`);
  return value;
}

function optionalAnnotations(json: Json, where: string): Record<string, string> | undefined {
  const value = json.annotations;
  if (value === undefined || value === null) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    invalid(`${where}annotations must be an object of strings`);
  }
  return value as Record<string, string>;
}

function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) invalid(`${where} must be a descriptor object`);
  const mediaType = value.mediaType;
  if (typeof mediaType !== 'string' || mediaType === '') invalid(`${where}.mediaType must be a non-empty string`);
  let digest: Digest;
  try {
    digest = Digest.parse(value.digest);
  } catch (error) {
    invalid(`${where}.digest: ${(error as Error).message}`);
  }
  const size = value.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    invalid(`${where}.size must be a non-negative integer`);
  }
  const urls = value.urls;
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string'))) {
    invalid(`${where}.urls must be an array of strings`);
  }
  return {
    mediaType,
    digest,
    size,
    urls: urls as string[] | undefined,
    artifactType: optionalString(value, 'artifactType', `${where}.`),
    annotations: optionalAnnotations(value, `${where}.`),
  };
}

function parseDescriptorList(json: Json, key: string, required: boolean): Descriptor[] {
  const value = json[key];
  if (value === undefined) {
    if (required) invalid(`${key} is required`);
    return [];
  }
  if (!Array.isArray(value)) invalid(`${key} must be an array`);
  if (value.length > MAX_MANIFEST_DESCRIPTORS) invalid(`${key} lists more than ${MAX_MANIFEST_DESCRIPTORS} descriptors`);
  return value.map((item, i) => parseDescriptor(item, `${key}[${i}]`));
}

/**
 * True when the JSON text nests objects and arrays deeper than `max`: one pass over the bytes that
 * jumps over strings (natively, with `indexOf`), so that JSON.parse never sees a document built to
 * exhaust it. Multi-byte UTF-8 never contains `"` or `\\`, so bytes are enough.
 */
function nestsDeeperThan(content: Buffer, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < content.length; i++) {
    const byte = content[i];
    if (byte === 0x22) {
      // To the closing quote: the first one not escaped by an odd run of backslashes.
      let end = content.indexOf(0x22, i + 1);
      while (end !== -1 && escaped(content, end)) end = content.indexOf(0x22, end + 1);
      if (end === -1) return false; // unterminated: JSON.parse refuses it
      i = end;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > max) return true;
    } else if (byte === 0x7d || byte === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** True when the byte at `at` follows an odd number of backslashes. */
function escaped(content: Buffer, at: number): boolean {
  let backslashes = 0;
  for (let j = at - 1; j >= 0 && content[j] === 0x5c; j--) backslashes++;
  return backslashes % 2 === 1;
}

/** Parses JSON bytes into an object, or throws `ManifestInvalidError`. */
function parseJson(content: Buffer): Json {
  if (nestsDeeperThan(content, MAX_MANIFEST_DEPTH)) invalid(`manifest JSON is nested deeper than ${MAX_MANIFEST_DEPTH} levels`);
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch (error) {
    invalid(`manifest is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(json)) invalid('manifest must be a JSON object');
  return json;
}

/** The media type a manifest body declares or implies (no validation beyond that). */
function impliedMediaType(json: Json): string | undefined {
  if (typeof json.mediaType === 'string') return json.mediaType;
  if (Array.isArray(json.manifests)) return MediaType.OCI_INDEX;
  if (isObject(json.config) || Array.isArray(json.layers)) return MediaType.OCI_MANIFEST;
  return undefined;
}

const SCHEMA1_MESSAGE =
  'Docker image manifest schema 1 is not supported (deprecated since 2017); push a Docker schema 2 or OCI manifest instead';

/**
 * Validates a manifest for PUT. `contentType` is the request's Content-Type; when both it and the
 * body's `mediaType` are given they must agree (generic types like application/json count as not
 * given). Throws `ManifestInvalidError` with a message naming the offending field; also for content
 * that is not UTF-8, nests deeper than `MAX_MANIFEST_DEPTH` or lists more than
 * `MAX_MANIFEST_DESCRIPTORS` descriptors, and for `"layers": null`.
 */
export function parseManifest(content: Buffer, contentType?: string): ParsedManifest {
  // JSON is UTF-8 (RFC 8259); decoding would silently turn bad bytes into U+FFFD.
  if (!isUtf8(content)) invalid('manifest is not valid UTF-8');
  const json = parseJson(content);
  const headerType = essence(contentType);
  const bodyType = optionalString(json, 'mediaType', '');
  if (json.schemaVersion === 1 || SCHEMA1_MEDIA_TYPES.has(headerType) || (bodyType && SCHEMA1_MEDIA_TYPES.has(bodyType))) {
    invalid(SCHEMA1_MESSAGE);
  }
  const given = GENERIC_CONTENT_TYPES.has(headerType) ? undefined : headerType;
  if (given && bodyType && given !== bodyType) {
    invalid(`Content-Type ${given} does not match the manifest's mediaType ${bodyType}`);
  }
  const mediaType = bodyType ?? given ?? impliedMediaType(json);
  if (mediaType === undefined) invalid('cannot tell the manifest kind: no mediaType, config or manifests');
  if (!MANIFEST_MEDIA_TYPES.has(mediaType)) {
    invalid(`unsupported manifest media type ${mediaType} (supported: ${[...MANIFEST_MEDIA_TYPES].join(', ')})`);
  }
  if (json.schemaVersion !== 2) invalid('schemaVersion must be 2');

  const isIndex = INDEX_MEDIA_TYPES.has(mediaType);
  const parsed: ParsedManifest = {
    mediaType,
    isIndex,
    config: IMAGE_MEDIA_TYPES.has(mediaType) ? parseDescriptor(json.config, 'config') : undefined,
    layers: isIndex ? [] : parseDescriptorList(json, 'layers', false),
    manifests: isIndex ? parseDescriptorList(json, 'manifests', true) : [],
    subject: json.subject === undefined || json.subject === null ? undefined : parseDescriptor(json.subject, 'subject'),
    artifactType: optionalString(json, 'artifactType', ''),
    annotations: optionalAnnotations(json, ''),
  };
  return parsed;
}

/** What a stored manifest says about itself, read leniently (it may come from another registry). */
export interface StoredManifestInfo {
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly configMediaType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly subject?: Digest;
}

/** Descriptions of the buffers the manifest cache hands out again and again (see `describeStoredManifest`). */
const described = new WeakMap<Buffer, StoredManifestInfo>();

/**
 * The media type and referrer facts of stored manifest bytes. Never throws: unparsable content is
 * served as an OCI image manifest; schema 1 content (written by an old registry) as schema 1.
 *
 * Remembered per buffer: the same cached bytes are not parsed again (callers must not modify either).
 */
export function describeStoredManifest(content: Buffer): StoredManifestInfo {
  let info = described.get(content);
  if (info === undefined) {
    info = describe(content);
    described.set(content, info);
  }
  return info;
}

function describe(content: Buffer): StoredManifestInfo {
  let json: Json;
  try {
    json = parseJson(content);
  } catch {
    return { mediaType: MediaType.OCI_MANIFEST };
  }
  let mediaType = impliedMediaType(json) ?? MediaType.OCI_MANIFEST;
  if (json.schemaVersion === 1 && typeof json.mediaType !== 'string') {
    mediaType = Array.isArray(json.signatures) ? MediaType.DOCKER_SCHEMA1_SIGNED : MediaType.DOCKER_SCHEMA1;
  }
  const subject = isObject(json.subject) && Digest.isValid(json.subject.digest) ? Digest.parse(json.subject.digest) : undefined;
  const annotations = isObject(json.annotations) ? (json.annotations as Record<string, string>) : undefined;
  return {
    mediaType,
    artifactType: typeof json.artifactType === 'string' ? json.artifactType : undefined,
    configMediaType: isObject(json.config) && typeof json.config.mediaType === 'string' ? json.config.mediaType : undefined,
    annotations,
    subject,
  };
}

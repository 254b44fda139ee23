import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import type { AzureContainer } from './config.js';

/** Blob metadata holding the source object's ETag (its MD5 for simple uploads): equal size and ETag mean "already copied". */
export const SOURCE_ETAG = 'sourceetag';

export function containerClient(d: AzureContainer): ContainerClient {
  const service = d.connection_string
    ? BlobServiceClient.fromConnectionString(d.connection_string)
    : new BlobServiceClient(
        d.account_url!,
        d.account_key
          ? new StorageSharedKeyCredential(d.account_name!, d.account_key)
          : new DefaultAzureCredential(),
      );
  return service.getContainerClient(d.container);
}

export function describeError(error: unknown, where: string): string {
  const e = error as {
    name?: string;
    message?: string;
    statusCode?: number;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e.statusCode ?? e.$metadata?.httpStatusCode;
  return `${where}: ${status ? `HTTP ${status} ` : ''}${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? String(error)}`;
}

/** What an S3 object says about itself beyond its bytes, as GetObject returns it. */
export interface S3ObjectHeaders {
  ContentType?: string;
  ContentEncoding?: string;
  CacheControl?: string;
  ContentDisposition?: string;
  ContentLanguage?: string;
  Metadata?: Record<string, string>;
}

/**
 * S3 user metadata keys are any lower-case text (`x-amz-meta-max-age`); Azure metadata names must be C#
 * identifiers. Each key is kept under `s3_` with every other character as `_xHH_` (its code in hex), so
 * the way back restores it exactly.
 */
const USER_META = 's3_';
const encodeMetaKey = (key: string) =>
  USER_META + key.replace(/[^a-z0-9]/g, (c) => `_x${c.charCodeAt(0).toString(16)}_`);
const decodeMetaKey = (name: string) =>
  name
    .slice(USER_META.length)
    .replace(/_x([0-9a-f]+)_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/**
 * The blob's headers and metadata for a copy of an S3 object: every header a client reads back
 * (Content-Encoding matters most: a gzip'd asset served without it is garbage), its user metadata, and
 * the ETag it was copied from.
 */
export function blobOptionsFromS3(object: S3ObjectHeaders, sourceEtag: string) {
  const metadata: Record<string, string> = { [SOURCE_ETAG]: sourceEtag };
  for (const [key, value] of Object.entries(object.Metadata ?? {}))
    metadata[encodeMetaKey(key.toLowerCase())] = value;
  return {
    metadata,
    blobHTTPHeaders: {
      blobContentType: object.ContentType ?? 'application/octet-stream',
      blobContentEncoding: object.ContentEncoding,
      blobCacheControl: object.CacheControl,
      blobContentDisposition: object.ContentDisposition,
      blobContentLanguage: object.ContentLanguage,
    },
  };
}

/** A blob's properties as the listing (with metadata) returns them. */
export interface BlobHeaders {
  contentType?: string;
  contentEncoding?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentLanguage?: string;
}

/** The S3 PutObject headers and user metadata for a copy of a blob (the reverse of blobOptionsFromS3). */
export function s3HeadersFromBlob(properties: BlobHeaders, metadata: Record<string, string> = {}) {
  const userMetadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata))
    if (name.startsWith(USER_META)) userMetadata[decodeMetaKey(name)] = value;
  return {
    ContentType: properties.contentType ?? 'application/octet-stream',
    ContentEncoding: properties.contentEncoding,
    CacheControl: properties.cacheControl,
    ContentDisposition: properties.contentDisposition,
    ContentLanguage: properties.contentLanguage,
    Metadata: userMetadata,
  };
}
